// Pages that follow a job running on the server (a visitor-log import): data-progress="URL"
// names a JSON state {percent, text, finished}, read every second into the element's
// <progress> and [data-progress-text]. When the job has finished the page is loaded again to
// show its outcome.
"use strict";

const PROGRESS_MILLISECONDS = 1000;

function followProgress(element) {
  const bar = element.querySelector("progress");
  const text = element.querySelector("[data-progress-text]");
  const timer = window.setInterval(async () => {
    let state;
    try {
      const response = await fetch(element.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) {
        return;
      }
      state = await response.json();
    } catch (error) {
      return; // The network blinked; try again at the next tick.
    }
    if (state.percent === null) {
      bar.removeAttribute("value"); // how much is left is not known
    } else {
      bar.value = state.percent;
    }
    text.textContent = state.text;
    if (state.finished) {
      window.clearInterval(timer);
      window.location.reload();
    }
  }, PROGRESS_MILLISECONDS);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-progress]").forEach(followProgress);
});
