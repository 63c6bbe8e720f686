// The Cameras page's live tiles: each camera's latest analysed frame, as its worker publishes it
// (gatewatch/vision/live_view.py), with the gate line, its inside side, its dead band and the boxes
// of the tracks followed drawn over it in SVG. section#live-view[data-live-url] is polled every
// data-live-seconds while the page is visible; a tile whose picture changed loads the new one and
// draws its sidecar over it once it has loaded, so the boxes always match the picture shown.
// A camera that is down keeps its last picture, greyed (class "down"), with its time and the
// reason. A tile opens large in dialog#live-large, kept up to date the same way.
"use strict";

(() => {
  const section = document.getElementById("live-view");
  if (!section) {
    return;
  }
  // The colours of the event page's overlay (app.js), so a line looks the same everywhere.
  const LINE = typeof GATE_COLOUR !== "undefined" ? GATE_COLOUR : "rgb(0, 208, 255)";
  const BOX = typeof BOX_COLOUR !== "undefined" ? BOX_COLOUR : "rgb(255, 200, 0)";
  const SVG = "http://www.w3.org/2000/svg";
  const text = section.dataset;
  const dialog = document.getElementById("live-large");
  const states = new Map(); // camera id -> its latest state from live.json

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, String(value)));
    parent.appendChild(node);
    return node;
  }

  const isPoint = (p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isFinite(Number(v)));

  // The gate (placement: line, inside, margin as fractions) over a picture of width x height;
  // `unit`: picture pixels per pixel on screen, so the arrow and its label keep their size on screen.
  function drawGate(svg, gate, width, height, unit) {
    if (!gate || !Array.isArray(gate.line) || gate.line.length !== 2 || !gate.line.every(isPoint)) {
      return;
    }
    const a = [gate.line[0][0] * width, gate.line[0][1] * height];
    const b = [gate.line[1][0] * width, gate.line[1][1] * height];
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (length > 0 && isPoint(gate.inside)) {
      const inside = [gate.inside[0] * width, gate.inside[1] * height];
      let [nx, ny] = [-(b[1] - a[1]) / length, (b[0] - a[0]) / length];
      if ((inside[0] - a[0]) * nx + (inside[1] - a[1]) * ny < 0) {
        [nx, ny] = [-nx, -ny];
      }
      const band = Math.max(0, Number(gate.margin) || 0) * height; // half-width, a fraction of the height
      if (band > 0) {
        const corners = [[a, -1], [b, -1], [b, 1], [a, 1]].map(([p, side]) => `${p[0] + side * nx * band},${p[1] + side * ny * band}`);
        element("polygon", { class: "dead-band", points: corners.join(" "), fill: LINE, "fill-opacity": 0.25 }, svg);
      }
      const middle = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const reach = Math.max(2.5 * band, 28 * unit);
      const tip = [middle[0] + nx * reach, middle[1] + ny * reach];
      const head = 7 * unit;
      const arrow = { stroke: LINE, "stroke-width": 2, fill: "none", "vector-effect": "non-scaling-stroke" };
      element("line", { class: "inside-arrow", x1: middle[0], y1: middle[1], x2: tip[0], y2: tip[1], ...arrow }, svg);
      element("polyline", {
        points: `${tip[0] - nx * head - ny * head},${tip[1] - ny * head + nx * head} ${tip[0]},${tip[1]} `
          + `${tip[0] - nx * head + ny * head},${tip[1] - ny * head - nx * head}`,
        ...arrow,
      }, svg);
      const label = element("text", {
        class: "inside-label", x: tip[0] + nx * 12 * unit, y: tip[1] + ny * 12 * unit, fill: LINE,
        "font-size": 13 * unit, "font-weight": 700, "text-anchor": "middle", "dominant-baseline": "middle",
      }, svg);
      label.textContent = text.textInside;
    }
    element("line", {
      class: "gate-line", x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: LINE, "stroke-width": 3,
      "stroke-dasharray": "12 8", "vector-effect": "non-scaling-stroke",
    }, svg);
  }

  function drawBoxes(svg, boxes, width, height, unit) {
    (Array.isArray(boxes) ? boxes : []).forEach((item) => {
      if (!item || !Array.isArray(item.box) || item.box.length !== 4) {
        return;
      }
      const [x1, y1, x2, y2] = item.box.map(Number);
      element("rect", {
        class: "track-box", x: x1 * width, y: y1 * height, width: (x2 - x1) * width, height: (y2 - y1) * height,
        stroke: BOX, "stroke-width": 2, fill: "none", "vector-effect": "non-scaling-stroke",
      }, svg);
      const caption = element("text", {
        class: "track-label", x: x1 * width + 2 * unit, y: Math.max(13 * unit, y1 * height - 3 * unit), fill: BOX,
        "font-size": 12 * unit, "font-weight": 600,
      }, svg);
      caption.textContent = String(item.label || "");
    });
  }

  function drawOverlay(figure, state) {
    const svg = figure.querySelector("svg.live-overlay");
    const size = Array.isArray(state.frame_size) ? state.frame_size.map(Number) : null;
    svg.replaceChildren();
    if (size && size.length === 2 && size[0] > 0 && size[1] > 0) {
      svg.setAttribute("viewBox", `0 0 ${size[0]} ${size[1]}`);
      const shownWidth = figure.querySelector("img.live-picture").clientWidth;
      const unit = shownWidth > 0 ? size[0] / shownWidth : 1;
      drawGate(svg, state.gate, size[0], size[1], unit);
      drawBoxes(svg, state.boxes, size[0], size[1], unit);
    }
    figure.querySelector(".live-time").textContent = state.time_text ? text.textPicture.replace("%(time)s", state.time_text) : "";
    figure.dataset.time = state.time || ""; // the picture shown, its time in the caption, its boxes drawn
  }

  // The caption and the picture of one figure (a tile, or the large view) for a camera's state.
  function render(figure, state) {
    const down = !state.connected || state.stalled;
    figure.classList.toggle("down", down);
    figure.querySelector(".live-state").textContent = !down ? "" : state.connected ? text.textStalled : text.textDisconnected;
    figure.querySelector(".live-reason").textContent = down && state.note ? state.note : "";
    const img = figure.querySelector("img.live-picture");
    const none = figure.querySelector(".live-none");
    if (!state.picture) {
      figure.querySelector(".live-time").textContent = "";
      if (none) {
        none.hidden = false;
      }
      return;
    }
    figure.pending = state;
    if (img.dataset.src !== state.picture) {
      img.dataset.src = state.picture;
      img.src = state.picture; // the one shown stays until this one has loaded
    } else if (img.complete && img.naturalWidth) {
      drawOverlay(figure, state);
    }
  }

  function shown(img) {
    const figure = img.closest("figure");
    img.hidden = false;
    const none = figure.querySelector(".live-none");
    if (none) {
      none.hidden = true;
    }
    if (figure.pending) {
      drawOverlay(figure, figure.pending);
    }
  }

  document.querySelectorAll("img.live-picture").forEach((img) => img.addEventListener("load", () => shown(img)));

  function update(cameras) {
    cameras.forEach((state) => {
      states.set(state.id, state);
      const tile = [...section.querySelectorAll("figure[data-camera]")].find((f) => f.dataset.camera === state.id);
      if (tile && !state.external) {
        render(tile, state);
      }
      if (dialog && dialog.open && dialog.dataset.camera === state.id) {
        render(dialog.querySelector("figure"), state);
      }
    });
  }

  async function poll() {
    if (!document.hidden) {
      try {
        const response = await fetch(section.dataset.liveUrl, { credentials: "same-origin", cache: "no-store" });
        if (response.ok && !response.redirected) {
          update((await response.json()).cameras || []);
        }
      } catch (error) {
        // the server is away for a moment: try again at the next tick
      }
    }
    window.setTimeout(poll, Math.max(1, Number(section.dataset.liveSeconds) || 1) * 1000);
  }

  section.addEventListener("click", (event) => {
    const button = event.target.closest("button.live-open");
    if (!button || !dialog) {
      return;
    }
    const id = button.closest("figure").dataset.camera;
    const figure = dialog.querySelector("figure");
    dialog.dataset.camera = id;
    figure.querySelector(".live-name").textContent = button.closest("figure").querySelector("figcaption strong").textContent;
    const img = figure.querySelector("img.live-picture");
    img.alt = button.querySelector("img.live-picture").alt;
    img.removeAttribute("src"); // not the last camera's picture while this one's loads
    img.hidden = true;
    delete img.dataset.src;
    figure.querySelector("svg.live-overlay").replaceChildren();
    figure.pending = null;
    dialog.showModal();
    if (states.has(id)) {
      render(figure, states.get(id));
    }
  });
  if (dialog) {
    dialog.querySelector(".live-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) {
        dialog.close(); // a click on the backdrop
      }
    });
  }
  poll();
})();
