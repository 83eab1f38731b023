// Page-wide behaviour shared by every page. Loaded as a file: the CSP forbids inline script.
(function () {
  "use strict";

  // The user menu is a <details> element: it works without JS; this closes it on an outside
  // click or Escape, as a menu is expected to.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    });
  });
})();

// A box that scrolls sideways (a wide table on a phone) must be reachable by keyboard to scroll it.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".table-wrap, .steps, .tabs").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.setAttribute("data-scroll-marked", "1");
        }
      } else if (box.getAttribute("data-scroll-marked")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-marked");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
