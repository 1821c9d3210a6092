/* The QIA score sheet (templates/qia/_sheet.html): as a heading's impact, consequence and
   likelihood are picked, its score badge shows the score and band (nothing before an impact is
   chosen), the level chosen is marked beside each list of choices, and the summary at the end
   of the sheet follows. The words are those of qia.forms.HeadingForm.score_words.
   Progressive enhancement only: without it the page shows the scores as sent or saved. */
(function () {
  "use strict";

  var BANDS = [
    [3, "low", "Low"],
    [6, "moderate", "Moderate"],
    [12, "high", "High"],
    [25, "extreme", "Extreme"]
  ];
  var UNSCORED = {
    positive: "Positive impact: not scored",
    none: "No impact: not scored"
  };

  function band(score) {
    for (var i = 0; i < BANDS.length; i++) {
      if (score <= BANDS[i][0]) { return BANDS[i]; }
    }
    return null;
  }

  function level(fieldset, name) {
    var select = fieldset.querySelector("select[data-qia=" + name + "]");
    return select ? parseInt(select.value, 10) : NaN;
  }

  // {text, band}: what the badge and the summary say of the heading now
  function judge(fieldset) {
    var chosen = fieldset.querySelector("input[type=radio][name$='-impact']:checked");
    var impact = chosen ? chosen.value : "";
    if (UNSCORED[impact]) { return { text: UNSCORED[impact], band: null }; }
    if (impact !== "negative") { return { text: "", band: null }; }
    var c = level(fieldset, "consequence");
    var l = level(fieldset, "likelihood");
    if (isNaN(c) || isNaN(l)) {
      return { text: "Negative: pick the consequence and likelihood", band: null };
    }
    var found = band(c * l);
    return { text: "Score " + (c * l) + " · " + found[2], band: found[1] };
  }

  function update(fieldset) {
    var found = judge(fieldset);
    var output = fieldset.querySelector("[data-qia-score]");
    if (output) {
      output.textContent = found.text;
      output.className = !found.text ? "" :
        "badge qia-band " + (found.band ? "qia-band-" + found.band : "text-bg-light");
    }
    fieldset.querySelectorAll("[data-qia-levels]").forEach(function (list) {
      var chosen = level(fieldset, list.getAttribute("data-qia-levels"));
      list.querySelectorAll("[data-level]").forEach(function (item) {
        var on = parseInt(item.getAttribute("data-level"), 10) === chosen;
        item.classList.toggle("qia-level-chosen", on);
      });
    });
    var heading = fieldset.getAttribute("data-qia-heading");
    var summary = document.querySelector("[data-qia-summary='" + heading + "']");
    if (summary) { summary.textContent = found.text || "Not answered yet"; }
  }

  document.querySelectorAll("[data-qia-heading]").forEach(function (fieldset) {
    fieldset.addEventListener("change", function () { update(fieldset); });
    update(fieldset);
  });
}());
