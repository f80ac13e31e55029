// Apply the saved theme before first paint so a dark page never flashes light.
(function () {
  "use strict";
  try {
    var saved = window.localStorage.getItem("lbr-theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.setAttribute("data-theme", saved);
    }
  } catch (err) {
    // Storage can be unavailable (private mode, disabled cookies): follow the system theme.
  }
})();
