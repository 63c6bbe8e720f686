// The gate line editor (templates/gate_line.html, web/views/gate_lines.py).
//
// A canvas over the camera's latest picture shows the line in force (thin, grey) and the line as
// edited, drawn as the event page draws a gate (app.js drawGate: dashed line, dead band, IN arrow),
// with a handle at each end and a marker at the inside point. Pointer events serve mouse, pen and
// touch alike: drag an end or the inside marker; a click elsewhere puts the inside point there.
// The form's number fields hold the same values (they are what is saved, and the keyboard's way
// in), so every change goes both ways. After each change, once the admin pauses, the page asks
// preview.json how the edited line counts the camera's latest events and shows the answer.
// Without a picture yet (the live view has no frame: 404), a blank canvas of the camera's shape.
(function () {
  "use strict";
  const editor = document.getElementById("line-editor");
  const form = document.getElementById("line-form");
  if (!editor || !form) {
    return;
  }
  const canvas = document.getElementById("line-canvas");
  const picture = document.getElementById("line-picture");
  const range = document.getElementById("margin-range");
  const reset = document.getElementById("reset-line");
  const panel = document.getElementById("line-preview");
  const inForce = JSON.parse(editor.dataset.inForce);
  const fields = ["line_x1", "line_y1", "line_x2", "line_y2", "inside_x", "inside_y"].map((name) => form.elements[name]);
  const margin = form.elements.margin;
  const IN_FORCE_COLOUR = "rgba(220, 220, 220, 0.9)";
  const HANDLE_COLOUR = "rgb(0, 208, 255)"; // app.js GATE_COLOUR
  const PREVIEW_DELAY_MS = 250;
  let dragging = null; // "a", "b" or "inside" while a pointer holds one
  let timer = null;
  let asking = null;

  // The edited placement from the form: {a, b, inside, margin}; null while a field is no number.
  function placement() {
    const texts = [...fields, margin].map((input) => String(input.value).trim().replace(",", "."));
    if (texts.some((text) => text === "" || !Number.isFinite(Number(text)))) {
      return null;
    }
    const values = texts.map(Number);
    const band = values.pop();
    return { a: values.slice(0, 2), b: values.slice(2, 4), inside: values.slice(4, 6), margin: band };
  }

  function rounded(value) {
    return String(Math.round(Math.min(1, Math.max(0, value)) * 1000) / 1000);
  }

  function setPoint(which, point) {
    const offset = { a: 0, b: 2, inside: 4 }[which];
    fields[offset].value = rounded(point[0]);
    fields[offset + 1].value = rounded(point[1]);
  }

  function setPlacement(value) {
    setPoint("a", value.line[0]);
    setPoint("b", value.line[1]);
    setPoint("inside", value.inside);
    margin.value = String(value.margin);
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height) {
      return;
    }
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const at = (point) => [point[0] * width, point[1] * height];
    context.save();
    context.strokeStyle = IN_FORCE_COLOUR;
    context.lineWidth = 1.5 * ratio;
    context.beginPath();
    context.moveTo(...at(inForce.line[0]));
    context.lineTo(...at(inForce.line[1]));
    context.stroke();
    context.restore();
    const edited = placement();
    if (!edited) {
      return;
    }
    if (typeof drawGate === "function") { // app.js, loaded first
      drawGate(context, at(edited.a), at(edited.b), at(edited.inside), edited.margin * height, ratio);
    }
    context.save();
    context.lineWidth = 2 * ratio;
    for (const [point, fill] of [[edited.a, "white"], [edited.b, "white"], [edited.inside, HANDLE_COLOUR]]) {
      const [x, y] = at(point);
      context.beginPath();
      context.arc(x, y, 8 * ratio, 0, 2 * Math.PI);
      context.fillStyle = fill;
      context.fill();
      context.strokeStyle = "rgb(0, 0, 0)";
      context.stroke();
    }
    context.restore();
  }

  // Where a pointer is, in fractions of the picture.
  function pointAt(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
  }

  // The handle within reach of the pointer (a finger reaches less precisely than a mouse), or null.
  function handleNear(event) {
    const edited = placement();
    if (!edited) {
      return null;
    }
    const box = canvas.getBoundingClientRect();
    const reach = event.pointerType === "mouse" ? 16 : 32;
    let best = null;
    for (const [name, point] of [["a", edited.a], ["b", edited.b], ["inside", edited.inside]]) {
      const distance = Math.hypot(event.clientX - box.left - point[0] * box.width,
        event.clientY - box.top - point[1] * box.height);
      if (distance <= reach && (!best || distance < best[1])) {
        best = [name, distance];
      }
    }
    return best && best[0];
  }

  function edited() {
    draw();
    reset.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(askPreview, PREVIEW_DELAY_MS);
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !placement()) {
      return;
    }
    event.preventDefault();
    dragging = handleNear(event) || "inside"; // a click away from the handles puts the inside point there
    setPoint(dragging, pointAt(event));
    canvas.setPointerCapture(event.pointerId);
    canvas.classList.add("dragging");
    edited();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (dragging) {
      setPoint(dragging, pointAt(event));
      edited();
    }
  });
  const release = () => {
    dragging = null;
    canvas.classList.remove("dragging");
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);

  form.addEventListener("input", (event) => {
    if (event.target === range) {
      margin.value = range.value;
    } else if (event.target === margin) {
      range.value = margin.value;
    }
    edited();
  });
  range.hidden = false;
  range.value = margin.value;
  reset.addEventListener("click", () => {
    setPlacement(inForce);
    range.value = margin.value;
    edited();
  });

  // --- the preview ------------------------------------------------------------------------------
  function askPreview() {
    const query = new URLSearchParams();
    for (const input of [...fields, margin]) {
      query.set(input.name, input.value);
    }
    if (asking) {
      asking.abort();
    }
    asking = new AbortController();
    const asked = query.toString();
    panel.setAttribute("aria-busy", "true");
    fetch(`${editor.dataset.previewUrl}?${asked}`, { credentials: "same-origin", signal: asking.signal,
      headers: { Accept: "application/json" } })
      .then((response) => response.json().then((data) => ({ ok: response.ok, data })))
      .then(({ ok, data }) => {
        if (ok && typeof data.html === "string") {
          panel.innerHTML = data.html; // rendered and escaped by the server (_line_preview.html)
        } else {
          showProblem(data && data.error ? String(data.error) : "?");
        }
        panel.dataset.shown = asked; // what the panel shows now, for tests
        panel.removeAttribute("aria-busy");
      })
      .catch((error) => {
        if (error.name !== "AbortError") {
          showProblem(String(error.message || error));
          panel.removeAttribute("aria-busy");
        }
      });
  }

  function showProblem(text) {
    let notice = panel.querySelector(".notice.error.preview-problem");
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "notice error preview-problem";
      notice.setAttribute("role", "alert");
      panel.prepend(notice);
    }
    notice.textContent = text;
  }

  // --- the picture ------------------------------------------------------------------------------
  function noPicture() {
    editor.classList.add("no-picture");
    editor.style.aspectRatio = String(Number(editor.dataset.aspect) || 16 / 9);
    document.getElementById("no-picture").hidden = false;
    editor.dataset.picture = "none";
    draw();
  }

  if (picture.complete && picture.naturalWidth > 0) {
    editor.dataset.picture = "shown";
  } else if (picture.complete) {
    noPicture();
  } else {
    picture.addEventListener("load", () => {
      editor.dataset.picture = "shown";
      draw();
    });
    picture.addEventListener("error", noPicture);
  }
  new ResizeObserver(draw).observe(editor);
  draw();
  editor.dataset.ready = "true";
}());
