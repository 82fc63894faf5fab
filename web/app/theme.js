// The page's theme: `data-theme="dark" | "light"` on <html>, which style.css's colour variables
// follow. A classic script in <head> (not a module, not deferred), so the theme is set before
// the first paint: no flash of the other one. The default follows the system
// (prefers-color-scheme, live); the header's #theme button switches, and the choice is
// remembered (localStorage) from then on. Needs no Python: it works while the page loads.
(() => {
  const KEY = "pyrtvi-theme";
  const root = document.documentElement;
  const system = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function saved() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch {
      return null; // storage refused: the system's choice, and the switch lasts this visit
    }
  }

  const fromSystem = () => (system && system.matches ? "dark" : "light");

  function apply(theme) {
    root.dataset.theme = theme;
    const button = document.getElementById("theme");
    if (button) button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
  }

  apply(saved() || fromSystem());
  if (system && system.addEventListener) {
    system.addEventListener("change", () => {
      if (!saved()) apply(fromSystem());
    });
  }
  // The button is parsed after this script: its pressed state is set once it exists.
  document.addEventListener("DOMContentLoaded", () => apply(root.dataset.theme));
  document.addEventListener("click", (event) => {
    if (!event.target.closest || !event.target.closest("#theme")) return;
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(KEY, next);
    } catch {
      // not remembered, still switched
    }
    apply(next);
  });
})();
