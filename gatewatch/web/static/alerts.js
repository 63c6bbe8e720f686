// Browser alerts of new flagged entries, on the flagged queue and the visitor log (templates/_alerts.html).
//
// The page polls its section's data-alerts URL with ?after=<the newest event id when the tab first
// drew a page>: about once a second while the page is visible, every few seconds while it is hidden,
// backing off further while the server does not answer. Each answer is the set of open alerts; a
// banner (role="alert") shows each, and one that is decided (in any tab, by anyone) drops out of
// the next answer and its banner goes. A new alert is announced once per browser, whichever of
// its tabs sees it first (localStorage): a system notification where the page may show one (it
// needs a secure context, HTTPS or localhost, and the user's permission, asked for only from the
// "Enable notifications" button), and a short beep when the user's sound is on and they have
// clicked or typed on the page (browsers refuse sound before that). Dismissing a banner hides it
// in every tab of the browser (the storage event). No inline script: the CSP forbids it.
"use strict";

(() => {
  const root = document.getElementById("alerts");
  if (!root) {
    return;
  }
  const VISIBLE_MS = 1000;
  const HIDDEN_MS = 4000;
  const MAX_BACKOFF_MS = 30000;
  const KEEP = 200; // how many announced or dismissed alerts the browser remembers
  const DISMISSED = "gatewatch.alerts.dismissed";
  const ANNOUNCED = "gatewatch.alerts.announced";
  const AFTER = "gatewatch.alerts.after";
  const CLAIM = "gatewatch.alerts.claim."; // + alert key: the tab that means to announce it
  const CLAIM_MS = 150; // long enough for every tab to see the last claim written
  const tab = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const list = document.getElementById("alert-list");
  const more = document.getElementById("alert-more");
  const template = document.getElementById("alert-template");
  const enable = document.getElementById("alerts-enable");
  const insecure = document.getElementById("alerts-insecure");
  const soundHint = document.getElementById("alerts-sound-hint");
  const banners = new Map(); // alert key -> banner element
  const notifications = new Map(); // alert key -> Notification shown by this tab
  // What the page did, for people debugging a gate post and for the tests.
  const state = {
    polls: 0,
    shown: [],
    announced: 0,
    sounds: 0, // beeps played (or started)
    soundsHeld: 0, // beeps not played because nobody had yet clicked or typed on the page
    notifications: 0,
    soundOn: root.dataset.sound === "on",
    interacted: Boolean(navigator.userActivation && navigator.userActivation.hasBeenActive),
    stopped: false,
  };
  window.gatewatchAlerts = state;

  // --- remembered in the browser ----------------------------------------------------------------
  function readList(key) {
    try {
      const value = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(value) ? value.map(String) : [];
    } catch (error) {
      return []; // storage off (private mode) or spoiled: remember nothing
    }
  }
  function addTo(key, item) {
    const items = readList(key).filter((other) => other !== item);
    items.push(item);
    try {
      window.localStorage.setItem(key, JSON.stringify(items.slice(-KEEP)));
    } catch (error) {
      // storage full or off: this tab still knows
    }
  }
  // The cursor: the newest event when this tab first drew a page, kept across its reloads so a
  // guard registering a visitor (a new page) does not lose the alerts still open.
  function startingCursor() {
    const drawn = Number(root.dataset.after) || 0;
    let kept = NaN;
    try {
      const text = window.sessionStorage.getItem(AFTER);
      kept = text === null ? NaN : Number(text);
    } catch (error) {
      kept = NaN;
    }
    const after = Number.isInteger(kept) && kept >= 0 && kept <= drawn ? kept : drawn;
    try {
      window.sessionStorage.setItem(AFTER, String(after));
    } catch (error) {
      // no session storage: the page's own cursor
    }
    return after;
  }
  const after = startingCursor();

  // --- sound ----------------------------------------------------------------------------------
  let audio = null;
  function unlockSound() {
    state.interacted = true;
    soundHint.classList.add("hidden");
    if (!state.soundOn) {
      return; // the sound is off: no audio context at all
    }
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) {
      try {
        audio = new Context();
      } catch (error) {
        audio = null;
      }
    }
    if (audio && audio.state === "suspended") {
      audio.resume().catch(() => undefined);
    }
  }
  ["pointerdown", "keydown"].forEach((name) => document.addEventListener(name, unlockSound, { capture: true }));

  function beep() {
    if (!state.soundOn) {
      return;
    }
    if (!state.interacted) {
      state.soundsHeld += 1;
      soundHint.classList.remove("hidden");
      return;
    }
    unlockSound();
    state.sounds += 1;
    if (!audio) {
      return;
    }
    // Two short high tones: heard over a gate post's noise, over within half a second.
    const start = audio.currentTime + 0.02;
    [0, 0.22].forEach((offset) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.18);
    });
  }

  // --- system notifications -------------------------------------------------------------------
  const canNotify = "Notification" in window && window.isSecureContext;
  function showPermission() {
    enable.classList.toggle("hidden", !(canNotify && Notification.permission === "default"));
    insecure.classList.toggle("hidden", window.isSecureContext);
  }
  enable.addEventListener("click", () => {
    const asked = Notification.requestPermission(showPermission); // the callback form for old Safari
    if (asked && typeof asked.then === "function") {
      asked.then(showPermission, showPermission);
    }
  });
  showPermission();

  function notify(alert) {
    if (!canNotify || Notification.permission !== "granted") {
      return;
    }
    try {
      const note = new Notification(alert.title, {
        body: alert.text,
        tag: `gatewatch-alert-${alert.key}`, // the same alert from two tabs is one notification
        icon: root.dataset.icon,
      });
      note.addEventListener("click", () => {
        window.focus();
        window.location.assign(alert.url);
        note.close();
      });
      notifications.set(String(alert.key), note);
      state.notifications += 1;
    } catch (error) {
      // Some browsers (Chrome on Android) show notifications only through a service worker: the banner stands.
    }
  }

  function storage(action) {
    try {
      return action(window.localStorage);
    } catch (error) {
      return undefined; // storage off (private mode): each tab on its own
    }
  }

  // Announce a new alert once per browser: each tab that sees it claims it, and after a moment
  // the tab whose claim was written last (the one every tab now reads) announces it.
  function announce(alert) {
    const key = String(alert.key);
    if (readList(ANNOUNCED).includes(key)) {
      return; // another tab (or this one before a reload) has announced it
    }
    const claimed = storage((store) => {
      store.setItem(CLAIM + key, tab);
      return true;
    });
    window.setTimeout(() => {
      if (claimed && storage((store) => store.getItem(CLAIM + key)) !== tab) {
        return; // another tab's claim came last: it announces
      }
      if (!banners.has(key) || readList(ANNOUNCED).includes(key)) {
        return; // decided or dismissed meanwhile, or announced after all
      }
      addTo(ANNOUNCED, key);
      storage((store) => store.removeItem(CLAIM + key));
      state.announced += 1;
      notify(alert);
      beep();
    }, claimed ? CLAIM_MS : 0);
  }

  // --- banners --------------------------------------------------------------------------------
  function fill(banner, alert) {
    banner.querySelector(".alert-title").textContent = alert.title;
    banner.querySelector(".alert-text").textContent = alert.text;
    banner.querySelector(".alert-open").href = alert.url;
  }

  function remove(key) {
    const banner = banners.get(key);
    if (banner) {
      banner.remove();
      banners.delete(key);
    }
    const note = notifications.get(key);
    if (note) {
      note.close();
      notifications.delete(key);
    }
  }

  // After banners come or go: the panel stays in sight (CSS) while it shows one.
  function settle() {
    state.shown = Array.from(banners.keys());
    root.classList.toggle("alerting", banners.size > 0 || !more.classList.contains("hidden"));
  }

  function addBanner(alert) {
    const key = String(alert.key);
    const banner = template.content.firstElementChild.cloneNode(true);
    banner.dataset.alertKey = key;
    banner.id = `alert-${key}`;
    fill(banner, alert);
    banner.querySelector(".alert-dismiss").addEventListener("click", () => {
      addTo(DISMISSED, key); // the other tabs hear of it through the storage event
      remove(key);
      settle();
    });
    return banner;
  }

  function show(alerts, hasMore) {
    const dismissed = new Set(readList(DISMISSED));
    const open = new Map(alerts.filter((alert) => !dismissed.has(String(alert.key))).map((alert) => [String(alert.key), alert]));
    Array.from(banners.keys()).filter((key) => !open.has(key)).forEach(remove);
    // Newest first, as the answer lists them: insert each before the one that follows it.
    let next = null;
    Array.from(open.values()).reverse().forEach((alert) => {
      const key = String(alert.key);
      let banner = banners.get(key);
      if (banner) {
        if (banner.querySelector(".alert-text").textContent !== alert.text) {
          fill(banner, alert); // riders joined the passage
        }
      } else {
        banner = addBanner(alert);
        banners.set(key, banner);
        announce(alert);
      }
      if (banner.nextElementSibling !== next || banner.parentNode !== list) {
        list.insertBefore(banner, next);
      }
      next = banner;
    });
    more.classList.toggle("hidden", !hasMore);
    settle();
  }

  window.addEventListener("storage", (event) => {
    if (event.key === DISMISSED) {
      readList(DISMISSED).forEach(remove);
      settle();
    }
  });

  // --- polling --------------------------------------------------------------------------------
  let timer = null;
  let busy = false;
  let failures = 0;

  function delay() {
    if (failures) {
      return Math.min(MAX_BACKOFF_MS, VISIBLE_MS * 2 ** failures);
    }
    return document.visibilityState === "visible" ? VISIBLE_MS : HIDDEN_MS;
  }

  function schedule(milliseconds) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, milliseconds);
  }

  async function poll() {
    if (busy || state.stopped) {
      return;
    }
    busy = true;
    try {
      const response = await fetch(`${root.dataset.alerts}?after=${after}`, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (response.redirected || [401, 403].includes(response.status) || (response.ok && !type.includes("json"))) {
        state.stopped = true; // logged out, or no longer allowed: the next page load decides again
        return;
      }
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const data = await response.json();
      failures = 0;
      state.polls += 1;
      show(Array.isArray(data.alerts) ? data.alerts : [], Boolean(data.more));
    } catch (error) {
      failures += 1; // the network or the server blinked: try again, less often
    } finally {
      busy = false;
      if (!state.stopped) {
        schedule(delay());
      }
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !busy) {
      schedule(0); // back on screen: look now
    }
  });
  poll();
})();
