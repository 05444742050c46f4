// The recovery page: save each config file through POST /api/config/{file},
// restart through POST /api/restart, refresh the log from GET /api/status.
// Everything shown is set with textContent, never as HTML.
"use strict";

function show(out, ok, text) {
  out.className = ok ? "ok" : "bad";
  out.textContent = text;
}

async function call(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = {};
  try { data = await res.json(); } catch (e) { data = { error: res.status + " " + res.statusText }; }
  return { ok: res.ok, data };
}

function initFiles() {
  for (const form of document.querySelectorAll("form.file")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const file = form.dataset.file, out = form.querySelector("output"), btn = form.querySelector("button");
      btn.disabled = true;
      try {
        const r = await call("POST", "/api/config/" + encodeURIComponent(file), { text: form.elements.text.value });
        show(out, r.ok, r.ok ? r.data.info : r.data.error);
      } catch (e) {
        show(out, false, "could not reach the device: " + e.message);
      } finally {
        btn.disabled = false;
      }
    });
  }
}

// waitForDevice reloads the page once the device answers again after a
// restart: with the app's own page, or with recovery once more.
async function waitForDevice(out) {
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const res = await fetch("/", { cache: "no-store" });
      if (res.ok) { location.reload(); return; }
    } catch (e) { /* still restarting */ }
  }
  show(out, false, "nothing answers on this address a minute after the restart: the app may serve on another address (see app.json), or the device is still starting; reload this page to look again");
}

function initRestart() {
  const btn = document.getElementById("restart"), out = document.getElementById("restart-result");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      const r = await call("POST", "/api/restart");
      show(out, r.ok, r.ok ? r.data.info : r.data.error);
      if (r.ok) { await waitForDevice(out); }
    } catch (e) {
      show(out, false, "could not reach the device: " + e.message);
    } finally {
      btn.disabled = false;
    }
  });
}

async function refresh() {
  try {
    const res = await fetch("/api/status", { cache: "no-store" });
    if (!res.ok) return;
    const st = await res.json();
    const log = document.getElementById("log");
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = st.log.join("\n") + (st.log.length ? "\n" : "");
    if (atEnd) log.scrollTop = log.scrollHeight;
    document.getElementById("reason").textContent = st.reason;
  } catch (e) { /* the device may be restarting */ }
}

initFiles();
initRestart();
const log = document.getElementById("log");
log.scrollTop = log.scrollHeight; // the newest lines first in view
setInterval(refresh, 3000);
