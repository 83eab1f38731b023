// Small niceties for the wizard; every step works without it.
(function () {
  "use strict";

  // Submit and Close X must not run twice on a double click.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.getAttribute("data-confirm") && !window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
        return;
      }
      if (form.getAttribute("data-submitted")) {
        event.preventDefault();
        return;
      }
      if (button && button.getAttribute("data-once")) {
        form.setAttribute("data-submitted", "1");
      }
    });
  });

  // Map Fields: clicking anywhere on a line picks its radio button.
  document.querySelectorAll(".choice-list .choice").forEach(function (line) {
    line.addEventListener("click", function (event) {
      if (event.target.closest("button, select, input[type=text]")) { return; }
      var radio = line.querySelector("input[type=radio]");
      if (radio) {
        radio.checked = true;
        line.parentNode.querySelectorAll(".choice").forEach(function (l) { l.classList.remove("picked"); });
        line.classList.add("picked");
      }
    });
  });
})();
