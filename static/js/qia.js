/* QIA form: show each heading's score and band as consequence and likelihood are picked.
   Progressive enhancement only: without it the page works and the score shows once saved. */
(function () {
  "use strict";

  var BANDS = [
    [3, "low", "Low"],
    [6, "moderate", "Moderate"],
    [12, "high", "High"],
    [25, "extreme", "Extreme"]
  ];

  function band(score) {
    for (var i = 0; i < BANDS.length; i++) {
      if (score <= BANDS[i][0]) { return BANDS[i]; }
    }
    return null;
  }

  function update(fieldset) {
    var output = fieldset.querySelector("[data-qia-score]");
    if (!output) { return; }
    var negative = fieldset.querySelector("input[type=radio][value=negative]");
    var consequence = fieldset.querySelector("select[data-qia=consequence]");
    var likelihood = fieldset.querySelector("select[data-qia=likelihood]");
    var c = consequence ? parseInt(consequence.value, 10) : NaN;
    var l = likelihood ? parseInt(likelihood.value, 10) : NaN;
    output.className = "badge qia-band";
    if (!negative || !negative.checked) {
      output.textContent = "Not scored: the impact is not negative";
      output.classList.add("text-bg-light");
      return;
    }
    if (isNaN(c) || isNaN(l)) {
      output.textContent = "Pick the consequence and likelihood";
      output.classList.add("text-bg-light");
      return;
    }
    var score = c * l;
    var found = band(score);
    output.textContent = "Score " + score + " · " + found[2];
    output.classList.add("qia-band-" + found[1]);
  }

  document.querySelectorAll("[data-qia-heading]").forEach(function (fieldset) {
    fieldset.addEventListener("change", function () { update(fieldset); });
    update(fieldset);
  });
}());
