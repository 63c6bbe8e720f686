// The phone menu (base.html, app.css): on a narrow screen the top bar shows the brand and a Menu
// button, which opens and closes the navigation and the account controls; aria-expanded says which,
// and the stylesheet shows the menu from it. Escape closes the open menu and gives the focus back
// to the button. A wide screen hides the button and always shows the menu. Without script,
// nojs.css shows the whole bar, as it was before the menu.
"use strict";

function phoneMenu(button) {
  const open = () => button.getAttribute("aria-expanded") === "true";
  const show = (opened) => button.setAttribute("aria-expanded", String(opened));
  button.addEventListener("click", () => show(!open()));
  button.parentElement.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && open()) {
      show(false);
      button.focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".menu-toggle[aria-controls]").forEach(phoneMenu);
});
