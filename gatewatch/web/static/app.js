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

// --- the event's clip -----------------------------------------------------------------------
// div[data-clip-start]: playback starts at the pre-roll point (a copied clip begins at the
// keyframe before it). With data-boxes (the boxes JSON, gatewatch/vision/boxes.py), a canvas
// over the video draws the gate line the event was counted against (its dead band and inside side
// too) and, for a copied clip (data-clip-kind="copy"),
// the tracked boxes of the frame on screen: the event's track (data-track-id) thick, with its
// caption, the others thin. It is kept in step with the frame shown by requestVideoFrameCallback
// (metadata.mediaTime), falling back on the time events where a browser lacks it.
const BOX_COLOUR = "rgb(255, 200, 0)"; // vision/evidence.py's BOX_COLOUR (BGR 0, 200, 255)
const OTHER_COLOUR = "rgb(255, 255, 255)";
const GATE_COLOUR = "rgb(0, 208, 255)";
// The boxes file gives times to 0.1 ms: seeking a hair past one lands on its frame, not the one before.
const SEEK_PAST = 0.001;

function validBoxes(data) {
  return data !== null && typeof data === "object" && Array.isArray(data.frame_size)
    && data.frame_size.length === 2 && data.frame_size.every((v) => Number(v) > 0) && Array.isArray(data.frames);
}

// The entry of `frames` (sorted by t) shown at `time`: the nearest, if within half a frame.
function frameAt(frames, time, halfFrame) {
  let low = 0;
  let high = frames.length - 1;
  while (low < high) { // the first frame at or after `time`
    const middle = (low + high) >> 1;
    if (frames[middle].t < time) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  let best = null;
  for (const index of [low - 1, low]) {
    const frame = frames[index];
    if (frame && Math.abs(frame.t - time) <= halfFrame && (!best || Math.abs(frame.t - time) < Math.abs(best.t - time))) {
      best = frame;
    }
  }
  return best;
}

// Half the usual time between the frames listed (their median gap), 20 ms when it cannot be told.
function halfFrameOf(frames) {
  const gaps = [];
  for (let index = 1; index < frames.length; index += 1) {
    gaps.push(frames[index].t - frames[index - 1].t);
  }
  gaps.sort((a, b) => a - b);
  const median = gaps.length ? gaps[gaps.length >> 1] : 0;
  return median > 0 ? median / 2 : 0.02;
}

// The gate line from a to b (canvas pixels), dashed; with the inside point, the dead band of
// `band` pixels either side tinted and an arrow from the line's middle towards the inside, marked
// IN, as the snapshots show it (vision/evidence.py draw_gate).
function drawGate(context, a, b, inside, band, ratio) {
  context.save();
  context.strokeStyle = GATE_COLOUR;
  context.fillStyle = GATE_COLOUR;
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  if (inside && length > 0) {
    let normal = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
    if ((inside[0] - a[0]) * normal[0] + (inside[1] - a[1]) * normal[1] < 0) {
      normal = [-normal[0], -normal[1]];
    }
    const [nx, ny] = normal;
    context.globalAlpha = 0.25;
    context.beginPath();
    context.moveTo(a[0] - nx * band, a[1] - ny * band);
    context.lineTo(b[0] - nx * band, b[1] - ny * band);
    context.lineTo(b[0] + nx * band, b[1] + ny * band);
    context.lineTo(a[0] + nx * band, a[1] + ny * band);
    context.closePath();
    context.fill();
    context.globalAlpha = 1;
    const middle = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const reach = Math.max(2.5 * band, 24 * ratio);
    const tip = [middle[0] + nx * reach, middle[1] + ny * reach];
    const head = 8 * ratio;
    context.lineWidth = 2 * ratio;
    context.beginPath();
    context.moveTo(middle[0], middle[1]);
    context.lineTo(tip[0], tip[1]);
    context.moveTo(tip[0] - nx * head - ny * head, tip[1] - ny * head + nx * head);
    context.lineTo(tip[0], tip[1]);
    context.lineTo(tip[0] - nx * head + ny * head, tip[1] - ny * head - nx * head);
    context.stroke();
    context.font = `700 ${Math.round(13 * ratio)}px system-ui, sans-serif`;
    context.textAlign = "center";
    context.textBaseline = "middle";
    context.fillText("IN", tip[0] + nx * 10 * ratio, tip[1] + ny * 10 * ratio);
  }
  context.lineWidth = 3 * ratio;
  context.setLineDash([12 * ratio, 8 * ratio]);
  context.beginPath();
  context.moveTo(a[0], a[1]);
  context.lineTo(b[0], b[1]);
  context.stroke();
  context.restore();
}

function drawOverlay(canvas, data, frame, options) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  if (!options.shown) {
    return;
  }
  // The picture is shown whole and centred in the video element (object-fit: contain).
  const [frameWidth, frameHeight] = data.frame_size.map(Number);
  const scale = Math.min(width / frameWidth, height / frameHeight);
  const left = (width - frameWidth * scale) / 2;
  const top = (height - frameHeight * scale) / 2;
  const line = data.gate && Array.isArray(data.gate.line) ? data.gate.line : null;
  if (line && line.length === 2) {
    const at = (point) => [left + point[0] * frameWidth * scale, top + point[1] * frameHeight * scale];
    drawGate(context, at(line[0]), at(line[1]), Array.isArray(data.gate.inside) ? at(data.gate.inside) : null,
      Number(data.gate.margin || 0) * frameHeight * scale, ratio);
  }
  if (!frame || !Array.isArray(frame.boxes)) {
    return;
  }
  const rect = (box) => [left + box[0] * scale, top + box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale];
  const own = frame.boxes.filter((item) => item.track_id === options.trackId);
  context.strokeStyle = OTHER_COLOUR;
  context.lineWidth = Math.max(1, ratio);
  frame.boxes.filter((item) => item.track_id !== options.trackId).forEach((item) => context.strokeRect(...rect(item.box)));
  const thick = Math.max(3, Math.round(height / 240)) * ratio;
  context.font = `600 ${Math.round(14 * ratio)}px system-ui, sans-serif`;
  context.textBaseline = "top";
  own.forEach((item) => {
    const [x, y, w, h] = rect(item.box);
    context.strokeStyle = BOX_COLOUR;
    context.lineWidth = thick;
    context.strokeRect(x, y, w, h);
    const text = options.caption || item.label;
    const textHeight = Math.round(18 * ratio);
    const textTop = Math.max(0, y - thick / 2 - textHeight);
    context.fillStyle = BOX_COLOUR;
    context.fillRect(x - thick / 2, textTop, context.measureText(text).width + 8 * ratio, textHeight);
    context.fillStyle = "rgb(0, 0, 0)";
    context.fillText(text, x - thick / 2 + 4 * ratio, textTop + 2 * ratio);
  });
}

function clipViewer(container) {
  const video = container.querySelector("video");
  const canvas = container.querySelector("canvas");
  const start = Number(container.dataset.clipStart || 0);
  const toStart = () => {
    if (start > 0 && video.currentTime < start) {
      video.currentTime = Math.min(start + SEEK_PAST, video.duration || start);
    }
  };
  if (video.readyState >= 1) {
    toStart();
  } else {
    video.addEventListener("loadedmetadata", toStart, { once: true });
  }
  if (!canvas || !container.dataset.boxes) {
    return;
  }
  const toggle = container.querySelector("#overlay-shown");
  const crossing = container.querySelector("#seek-crossing");
  const options = {
    shown: !toggle || toggle.checked,
    trackId: Number(container.dataset.trackId),
    caption: container.dataset.caption || "",
  };
  const copied = container.dataset.clipKind === "copy";
  let data = null;
  let halfFrame = 0.02;
  let shownTime = null; // the media time of the frame on screen; null while the poster shows
  const redraw = () => {
    if (!data) {
      return;
    }
    const frame = copied && shownTime !== null ? frameAt(data.frames, shownTime, halfFrame) : null;
    drawOverlay(canvas, data, frame, options);
    canvas.dataset.mediaTime = shownTime === null ? "" : String(shownTime); // what is drawn, for tests
  };
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const step = (_now, metadata) => {
      shownTime = metadata.mediaTime;
      redraw();
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  } else {
    ["seeked", "timeupdate", "loadeddata"].forEach((name) => video.addEventListener(name, () => {
      shownTime = video.currentTime;
      redraw();
    }));
  }
  if ("ResizeObserver" in window) {
    new ResizeObserver(redraw).observe(video);
  }
  if (toggle) {
    toggle.addEventListener("change", () => {
      options.shown = toggle.checked;
      redraw();
    });
  }
  fetch(container.dataset.boxes, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .then((loaded) => {
      if (!validBoxes(loaded)) {
        return;
      }
      data = loaded;
      data.frames = data.frames.filter((frame) => frame && Number.isFinite(frame.t)).sort((a, b) => a.t - b.t);
      halfFrame = halfFrameOf(data.frames);
      if (crossing && Number.isFinite(data.crossing_seconds)) {
        crossing.classList.remove("hidden");
        crossing.addEventListener("click", () => {
          video.pause();
          video.currentTime = data.crossing_seconds + SEEK_PAST;
        });
      }
      canvas.dataset.ready = "true";
      redraw();
    })
    .catch(() => undefined); // no boxes to draw: the clip plays as it is
}

document.addEventListener("DOMContentLoaded", () => {
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus(); // the first field to correct
  }
  document.querySelectorAll("[data-poll]").forEach(watchState);
  document.querySelectorAll("[data-refresh-seconds]").forEach(refreshEvery);
  document.querySelectorAll("[data-clip-start]").forEach(clipViewer);
  document.addEventListener("keydown", keyboardList);
  document.addEventListener("submit", confirmSubmit);
});
