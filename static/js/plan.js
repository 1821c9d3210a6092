// The PID form's savings plan. Its annual total is kept up to date as the twelve months are
// typed: the months are read as the server reads them (governance.money.parse_pounds: 83000,
// 83,000, £83,000, 83k, 1.5m); the total the server works out when the PID is saved is the one
// that counts. The recurrent part of each month shows only while "mixed" is chosen; without
// this script every month's is shown, with a note that it is only for a mixed saving.
(function () {
  const total = document.querySelector("[data-plan-total]");
  const months = Array.from(document.querySelectorAll("[data-plan-month]"));
  if (!total || months.length === 0) {
    return;
  }
  const amount = /^(\()?(-)?£?(-)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)([km])?(\))?$/i;

  function pounds(text) {
    const found = amount.exec(text.replace(/\s+/g, ""));
    if (!found || Boolean(found[1]) !== Boolean(found[6])) {
      return null;
    }
    const factor = { k: 1000, m: 1000000 }[(found[5] || "").toLowerCase()] || 1;
    const value = Number(found[4].replace(/,/g, "")) * factor;
    return found[1] || found[2] || found[3] ? -value : value;
  }

  function update() {
    let sum = 0;
    const unread = [];
    for (const month of months) {
      if (month.value.trim() === "") {
        continue;
      }
      const value = pounds(month.value);
      if (value === null) {
        unread.push(document.querySelector(`label[for="${month.id}"]`).textContent.trim());
      } else {
        sum += value;
      }
    }
    const text = "£" + Math.round(sum).toLocaleString("en-GB");
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
