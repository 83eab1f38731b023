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
