// gatewatch pages: refreshing parts of a page in place, keyboard moves in lists, confirmations.
// No framework and no inline script (the Content-Security-Policy forbids it): behaviour is
// attached to data- attributes.
"use strict";

// Replace the element with the same id as `element` by its newest version from the server.
async function refreshFromServer(element) {
  const response = await fetch(window.location.href, { credentials: "same-origin" });
  if (!response.ok || response.redirected) {
    return false; // logged out or an error: leave the page as it is
  }
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById(element.id);
  if (!fresh) {
    return false;
  }
  const focusedId = document.activeElement && element.contains(document.activeElement) ? document.activeElement.id : null;
  element.replaceChildren(...fresh.childNodes);
  element.dispatchEvent(new CustomEvent("refreshed", { bubbles: true }));
  if (focusedId && document.getElementById(focusedId)) {
    document.getElementById(focusedId).focus();
  }
  return true;
}

// data-poll="URL" data-poll-seconds="N": poll a small JSON state; refresh when it changes.
// A state with "finished": true cannot change again: the element is refreshed once more (the
// job may have finished before the first look) and polling stops.
function watchState(element) {
  const seconds = Number(element.dataset.pollSeconds || 10);
  let last = null;
  let timer = null;
  const tick = async () => {
    try {
      const response = await fetch(element.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) {
        return;
      }
      const state = await response.text();
      const parsed = JSON.parse(state);
      const finished = parsed !== null && parsed.finished === true;
      if (state !== last && (last !== null || finished) && !(await refreshFromServer(element))) {
        return; // not refreshed: try again at the next tick
      }
      last = state;
      if (finished) {
        window.clearInterval(timer);
      }
    } catch (error) {
      // The network blinked; try again at the next tick.
    }
  };
  tick();
  timer = window.setInterval(tick, seconds * 1000);
}

// data-refresh-seconds="N": refresh the element every N seconds.
function refreshEvery(element) {
  const seconds = Number(element.dataset.refreshSeconds);
  window.setInterval(() => refreshFromServer(element).catch(() => undefined), seconds * 1000);
}

function typing(event) {
  const target = event.target;
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
    || target instanceof HTMLSelectElement || (target && target.isContentEditable);
}

// In a list with data-keys: j/k (or arrows down/up) move between rows, Enter opens;
// "/" jumps to the element marked data-search-focus.
function keyboardList(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  if (event.key === "/" && !typing(event)) {
    const search = document.querySelector("[data-search-focus]");
    if (search) {
      event.preventDefault();
      search.focus();
    }
    return;
  }
  const list = document.querySelector("[data-keys]");
  if (!list || typing(event) || !["j", "k", "ArrowDown", "ArrowUp"].includes(event.key)) {
    return;
  }
  const links = Array.from(list.querySelectorAll(".row-link"));
  if (!links.length) {
    return;
  }
  const forward = event.key === "j" || event.key === "ArrowDown";
  const current = links.indexOf(document.activeElement);
  const next = current < 0 ? 0 : Math.min(links.length - 1, Math.max(0, current + (forward ? 1 : -1)));
  event.preventDefault();
  links[next].focus();
  links.forEach((link) => link.closest("tr").classList.toggle("focused", link === links[next]));
}

// form[data-confirm="question"]: ask before sending.
function confirmSubmit(event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus(); // the first field to correct
  }
  document.querySelectorAll("[data-poll]").forEach(watchState);
  document.querySelectorAll("[data-refresh-seconds]").forEach(refreshEvery);
  document.addEventListener("keydown", keyboardList);
  document.addEventListener("submit", confirmSubmit);
});
