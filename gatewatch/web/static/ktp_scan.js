// "Scan KTP" on the guard's registration form (templates/visits.html, views/ktp_scan.py).
//
// The button opens the tablet's camera (a file input with capture="environment", so any tablet
// or phone browser offers it; a computer offers a file). The photo, several MB from a phone, is
// scaled down here first (longest side MAX_SIDE, JPEG at QUALITY: about 200-400 kB) and posted
// with the page's CSRF token. The answer fills the name and NIK fields for the guard to check
// against the card; nothing is saved until the guard presses Register. A NIK that could not be
// read with certainty comes back empty and the NIK field gets the focus, to be typed.
// The picture is drawn with createImageBitmap, not an <img> with a blob: URL, which the CSP's
// img-src refuses. No inline script: the CSP forbids it.
"use strict";

(() => {
  const panel = document.getElementById("ktp-scan");
  if (!panel) {
    return;
  }
  const MAX_SIDE = 1600;
  const QUALITY = 0.85;
  const input = document.getElementById("ktp-photo");
  const button = document.getElementById("ktp-scan-button");
  const status = document.getElementById("ktp-status");
  const nameField = document.getElementById("f-visitor_name");
  const nikField = document.getElementById("f-id_number");
  const token = document.querySelector('meta[name="csrf-token"]');

  const say = (text, kind) => {
    status.textContent = text;
    status.className = `notice ${kind}`;
    status.hidden = !text;
  };

  const scaledDown = async (file) => {
    if (!window.createImageBitmap) {
      return file;
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch (error) {
      return file; // not a picture this browser decodes: the server says what it is
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) {
      bitmap.close();
    }
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    return blob || file;
  };

  const upload = async (photo) => {
    const body = new FormData();
    body.append("photo", photo, "ktp.jpg");
    const response = await fetch(panel.dataset.url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.content : "", Accept: "application/json" },
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      answer = null;
    }
    if (!response.ok || !answer) {
      throw new Error((answer && answer.error) || panel.dataset.failed);
    }
    return answer;
  };

  const fill = (answer) => {
    if (answer.name && nameField) {
      nameField.value = answer.name;
      nameField.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (nikField) {
      if (answer.nik) {
        nikField.value = answer.nik;
        nikField.dispatchEvent(new Event("input", { bubbles: true }));
      } else {
        nikField.focus();
      }
    }
    const details = [
      [answer.birth_place, answer.birth_date].filter(Boolean).join(", "),
      [answer.province, answer.regency].filter(Boolean).join(", "),
    ].filter(Boolean);
    const born = details.length ? ` ${panel.dataset.card} ${details.join(" · ")}.` : "";
    say(`${answer.message}${born}`, answer.nik ? "success" : "info");
  };

  panel.hidden = false;
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) {
      return;
    }
    button.disabled = true;
    say(panel.dataset.reading, "info");
    try {
      fill(await upload(await scaledDown(file)));
    } catch (error) {
      // A TypeError is fetch failing to reach the server; its message is the browser's, in English.
      say(error instanceof TypeError ? panel.dataset.failed : error.message || panel.dataset.failed, "error");
    } finally {
      button.disabled = false;
      input.value = "";
    }
  });
})();
