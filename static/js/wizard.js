// Small niceties for the wizard; every step works without it.
(function () {
  "use strict";

  // Submit must not run twice on a double click (Close X asks on its own page).
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (form.getAttribute("data-submitted")) {
        event.preventDefault();
        return;
      }
      if (button && button.getAttribute("data-once")) {
        form.setAttribute("data-submitted", "1");
      }
    });
  });

  // Create New Import: the step bar follows the chosen type at once.
  var typeChoice = document.getElementById("id_import_type");
  if (typeChoice) {
    typeChoice.addEventListener("change", function () {
      document.querySelectorAll("ol.steps[data-type]").forEach(function (bar) {
        bar.hidden = bar.getAttribute("data-type") !== typeChoice.value;
      });
    });
  }

  // Map Fields: back on the line of the field just matched or unmatched, focus its next control
  // (Unmatch after a Match, the column list after an Unmatch), not the top of the page.
  var target = window.location.hash.indexOf("#field-") === 0 && document.getElementById(window.location.hash.slice(1));
  if (target) {
    var next = target.querySelector("button.unmatch") || target.querySelector(".pair-select select") || target.querySelector("button");
    // After load: the browser's own scroll to the fragment would otherwise take the focus back.
    if (next) { window.addEventListener("load", function () { window.setTimeout(function () { next.focus(); }, 0); }); }
  }

  // The pair a Match would make, shown before it is made.
  function showPair(text) {
    var out = document.getElementById("picked-pair");
    if (out) { out.textContent = text; }
  }
  document.querySelectorAll(".pair-select select").forEach(function (select) {
    select.addEventListener("change", function () {
      var chosen = select.parentNode.querySelector(".pair-chosen");
      if (chosen) { chosen.textContent = select.value ? select.getAttribute("data-field") + " \u2190 " + select.value : ""; }
    });
  });
  var matchForm = document.getElementById("match-form");
  if (matchForm) {
    matchForm.addEventListener("change", function () {
      var field = matchForm.querySelector("input[name=field]:checked");
      var column = matchForm.querySelector("input[name=column]:checked");
      if (field || column) {
        var name = field ? field.parentNode.querySelector(".field-label").textContent : "(pick a field)";
        showPair("To match: " + name + " \u2190 " + (column ? column.value : "(pick a column)"));
      }
    });
  }

  // Map Fields: clicking anywhere on a line picks its radio button.
  document.querySelectorAll(".choice-list .choice").forEach(function (line) {
    line.addEventListener("click", function (event) {
      if (event.target.closest("button, select, input[type=text]")) { return; }
      var radio = line.querySelector("input[type=radio]");
      if (radio) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        line.parentNode.querySelectorAll(".choice").forEach(function (l) { l.classList.remove("picked"); });
        line.classList.add("picked");
      }
    });
  });
})();

// A page waiting on the background pass (school values, validation): live progress, then the result.
(function () {
  "use strict";
  // Soon after the page loads, then less often: a short pass shows its result at once, a long one costs
  // a request every 2 s. bench/validate_file_bench.py walks the same schedule.
  var FIRST_MS = 500, GROWTH = 1.5, POLL_MS = 2000;
  var wait = FIRST_MS;
  var el = document.querySelector("[data-validation-url]");
  if (!el) { return; }

  function later() {
    var now = wait;
    wait = Math.min(POLL_MS, wait * GROWTH);
    return now;
  }

  function poll() {
    fetch(el.getAttribute("data-validation-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (!data.running) { window.location.reload(); return; }
        var bar = el.querySelector("progress");
        if (bar) { bar.max = Math.max(1, data.rows_total); bar.value = data.rows_done; }
        var text = el.querySelector(".progress-text");
        if (text) { text.textContent = data.rows_done + " of " + data.rows_total + " rows"; }
        window.setTimeout(poll, later());
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
  }
  window.setTimeout(poll, later());
})();
