// The PID form's savings plan. Its annual total is kept up to date as the twelve months are
// typed: each month is read as the server reads it (governance.money.parse_pounds: 83000,
// 83,000, £83,000, 83k, 1.5m) and left out, named in "check ...", when the server would refuse
// it (governance.forms.plan_month_field: a negative, more than £999,999,999.99, or a part of a
// penny such as 0.001). The total is in pence, shown as the server shows money (£200.80,
// £138,000); the one the server works out when the PID is saved is the one that counts. The
// recurrent part of each month shows only while "mixed" is chosen; without this script every
// month's is shown, with a note that it is only for a mixed saving.
(function () {
  const total = document.querySelector("[data-plan-total]");
  const months = Array.from(document.querySelectorAll("[data-plan-month]"));
  if (!total || months.length === 0) {
    return;
  }
  const amount = /^(\()?(-)?£?(-)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)([km])?(\))?$/i;
  const MAX_PENCE = 99999999999; // £999,999,999.99 (governance.models.MAX_MONTHLY_AMOUNT)

  // A month's saving in whole pence, or null where the server would refuse it.
  function pence(text) {
    const cleaned = text.replace(/\s+/g, "");
    const found = cleaned.length <= 40 ? amount.exec(cleaned) : null;
    if (!found || Boolean(found[1]) !== Boolean(found[6])) {
      return null;
    }
    const signs = [found[1], found[2], found[3]].filter(Boolean).length;
    let [whole, fraction = ""] = found[4].replace(/,/g, "").split(".");
    // 1.5m is 1500000: move the point, in the digits themselves, so nothing is rounded
    const shift = { k: 3, m: 6 }[(found[5] || "").toLowerCase()] || 0;
    fraction = fraction.padEnd(shift, "0");
    whole += fraction.slice(0, shift);
    fraction = fraction.slice(shift);
    if (/[1-9]/.test(fraction.slice(2))) {
      return null; // a part of a penny
    }
    const value = Number(whole || "0") * 100 + Number(fraction.slice(0, 2).padEnd(2, "0"));
    if (signs > 1 || (signs === 1 && value !== 0) || value > MAX_PENCE) {
      return null; // a saving is typed positive, and no month saves more than that
    }
    return value;
  }

  // As governance.money.pounds: £12,345 for whole pounds, £12,345.67 otherwise.
  function pounds(inPence) {
    const places = inPence % 100 === 0 ? 0 : 2;
    const options = { minimumFractionDigits: places, maximumFractionDigits: places };
    return "£" + (inPence / 100).toLocaleString("en-GB", options);
  }

  function update() {
    let sum = 0;
    const unread = [];
    for (const month of months) {
      if (month.value.trim() === "") {
        continue;
      }
      const value = pence(month.value);
      if (value === null) {
        unread.push(document.querySelector(`label[for="${month.id}"]`).textContent.trim());
      } else {
        sum += value;
      }
    }
    const text = pounds(sum);
    total.textContent = unread.length
      ? `Annual total: ${text} so far; check ${unread.join(", ").replace(/\*/g, "")}`
      : `Annual total: ${text}`;
  }

  months.forEach((month) => month.addEventListener("input", update));
  update();
})();

(function () {
  const parts = document.querySelector("[data-recurrent-parts]");
  const kinds = Array.from(document.querySelectorAll('input[name="recurrence"]'));
  if (!parts || kinds.length === 0) {
    return;
  }

  // what the months hold stays as typed while hidden: the server ignores it unless mixed
  function show() {
    const chosen = kinds.find((kind) => kind.checked);
    parts.hidden = !chosen || chosen.value !== "mixed";
  }

  kinds.forEach((kind) => kind.addEventListener("change", show));
  show();
})();
