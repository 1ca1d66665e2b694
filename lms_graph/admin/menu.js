// A learner's 3-dot menu, drawn only from that learner's availableActions.
// Keyboard: Enter/Space/ArrowDown opens, arrows move, Escape closes, Tab leaves.
// The list is placed over the page (fixed), so the table's own scroll box never cuts it.

import { h } from "./dom.js";

let openMenu = null;

function closeOpenMenu(returnFocus = false) {
  if (!openMenu) return;
  const { list, button } = openMenu;
  list.remove();
  button.setAttribute("aria-expanded", "false");
  openMenu = null;
  if (returnFocus) button.focus();
}

document.addEventListener("click", (event) => {
  if (openMenu && !openMenu.list.contains(event.target) && !openMenu.button.contains(event.target)) closeOpenMenu();
});
// The list is fixed to the viewport: it follows its button when the page or the table
// scrolls, and closes once the button is out of sight.
document.addEventListener("scroll", (event) => {
  if (!openMenu || openMenu.list.contains(event.target)) return;
  const box = openMenu.button.getBoundingClientRect();
  if (box.bottom < 0 || box.top > window.innerHeight || box.right < 0 || box.left > window.innerWidth) closeOpenMenu();
  else place(openMenu.list, openMenu.button);
}, true);
window.addEventListener("resize", () => closeOpenMenu());

/** Under the button, right-aligned with it; above it when there is no room below. */
function place(list, button) {
  const box = button.getBoundingClientRect();
  const margin = 4;
  list.style.right = `${Math.max(margin, document.documentElement.clientWidth - box.right)}px`;
  const height = list.offsetHeight;
  const below = window.innerHeight - box.bottom - margin;
  const top = height <= below || box.top < height + margin ? box.bottom + margin : box.top - height - margin;
  list.style.top = `${Math.max(margin, Math.min(top, window.innerHeight - height - margin))}px`;
}

/** The menu button for one learner; `onChoose(action)` runs the chosen item. */
export function actionMenu(actions, learnerName, onChoose, { focusKey } = {}) {
  const button = h("button", {
    type: "button", class: "icon menu-button", "aria-haspopup": "menu", "aria-expanded": "false",
    "aria-label": `Actions for ${learnerName}`, disabled: actions.length === 0,
    dataset: focusKey ? { focus: focusKey } : {},
  }, "⋮");

  function open(focusLast = false) {
    closeOpenMenu();
    const items = actions.map((action) => h("button", {
      type: "button", role: "menuitem", tabindex: "-1",
      class: action.destructive ? "destructive" : "",
      dataset: { key: action.key, kind: action.kind },
      title: action.description || null,
      onclick: () => { closeOpenMenu(true); onChoose(action); },
    }, action.label));
    const list = h("div", { role: "menu", class: "menu", "aria-label": `Actions for ${learnerName}` }, items);
    list.addEventListener("keydown", (event) => {
      const index = items.indexOf(document.activeElement);
      const move = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 }[event.key];
      if (move !== undefined) {
        event.preventDefault();
        items[(move + items.length) % items.length].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        closeOpenMenu(true);
      } else if (event.key === "Tab") {
        closeOpenMenu();
      }
    });
    button.after(list);
    place(list, button);
    button.setAttribute("aria-expanded", "true");
    openMenu = { list, button };
    items[focusLast ? items.length - 1 : 0].focus();
  }

  button.addEventListener("click", () => (openMenu && openMenu.button === button ? closeOpenMenu() : open()));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      open(event.key === "ArrowUp");
    }
  });
  return button;
}
