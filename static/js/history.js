// Live progress on Import History and the details page: polls the job's progress URL.
(function () {
  "use strict";
  var POLL_MS = 2000;

  function poll(el) {
    var url = el.getAttribute("data-progress-url");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var bar = el.querySelector("progress");
        if (!bar && data.status === "running") {
          bar = document.createElement("progress");
          el.appendChild(bar);
        }
        if (bar) { bar.max = Math.max(1, data.rows_total); bar.value = data.rows_done; }
        var text = el.querySelector(".progress-text");
        if (!text && data.status === "running") {
          text = document.createElement("span");
          text.className = "small progress-text";
          el.appendChild(text);
        }
        if (text) { text.textContent = data.rows_done + " of " + data.rows_total + " rows"; }
        var status = el.querySelector(".status-text");
        if (status) { status.textContent = data.status_display; }
        var note = el.querySelector(".status-note");
        if (note) { note.textContent = data.note || ""; }
        if (data.finished) {
          if (bar) { bar.value = bar.max; }
          return;
        }
        window.setTimeout(function () { poll(el); }, POLL_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, POLL_MS * 5); });
  }

  document.querySelectorAll("[data-progress-url]").forEach(function (el) {
    window.setTimeout(function () { poll(el); }, POLL_MS);
  });
})();
