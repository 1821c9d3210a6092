/* Behaviour of every page. Progressive enhancement only: without it every page still works. */
(function () {
  "use strict";

  // The error summary of an invalid form takes the focus when the page loads, so that it is
  // read out first; each of its links moves the focus to its field (a fragment link would
  // only scroll to it) and brings the field's label into view with it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      var label = field.closest("fieldset") || (field.labels && field.labels[0]) || field;
      label.scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }

  // A table wider than its frame scrolls inside it: the frame then takes the keyboard focus,
  // so that it can be scrolled with the arrow keys, and is named after its table.
  function nameOf(frame) {
    var caption = frame.querySelector("caption");
    var section = frame.closest("section");
    var heading = section && section.querySelector("h1, h2, h3");
    return (caption || heading || {}).textContent || "Table";
  }

  function markScrolling() {
    document.querySelectorAll(".table-responsive").forEach(function (frame) {
      var scrolls = frame.scrollWidth > frame.clientWidth;
      if (scrolls && !frame.hasAttribute("tabindex")) {
        frame.setAttribute("tabindex", "0");
        frame.setAttribute("role", "region");
        frame.setAttribute("aria-label", nameOf(frame).trim() + " (scrolls sideways)");
        frame.dataset.scrollFrame = "";
      } else if (!scrolls && frame.hasAttribute("data-scroll-frame")) {
        ["tabindex", "role", "aria-label", "data-scroll-frame"].forEach(function (name) {
          frame.removeAttribute(name);
        });
      }
    });
  }

  markScrolling();
  window.addEventListener("resize", markScrolling);

  // A link to a folded part of the page (a <details>, as the schemes behind a report's figure)
  // unfolds it: the browser would only scroll to its summary.
  function openTarget() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  openTarget();
  window.addEventListener("hashchange", openTarget);

  // A warning before the idle sign-out (governance.middleware.SessionTimeoutMiddleware), so
  // that what is being typed can be saved first. The server notes the last request only to
  // the minute, so the sign-out may come up to a minute sooner than the limit counted from
  // this page's loading: the warning comes 3 minutes before it, at least 2 before sign-out.
  var idleMinutes = parseInt(document.body.dataset.idleMinutes, 10);
  if (idleMinutes > 0) {
    window.setTimeout(function () {
      var warning = document.createElement("div");
      warning.className = "alert alert-warning";
      warning.setAttribute("role", "alert");
      warning.textContent = "You will be signed out in 2 minutes if you do nothing: " +
        "save what you are typing.";
      var main = document.getElementById("main");
      main.insertBefore(warning, main.firstChild);
    }, Math.max(0, idleMinutes - 3) * 60 * 1000);
  }
}());
