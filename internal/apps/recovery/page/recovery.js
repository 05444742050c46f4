// The recovery page. It speaks the command protocol over one WebSocket on
// its own host: the device's own port, or, served by a hub under /d/<id>/,
// the hub's page endpoint /<id>. GET status brings the reason, the log and
// the config files, CMD log_subscribe the log as it grows; CMD save_config [file, text] saves one (refused with
// its located error when invalid); CMD restart boots again. When a state
// object that is not recovery's arrives (the device restarted into its
// app), the page reloads and shows the app's page. Everything shown is set
// with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const viaHub = document.body.dataset.hub === "1";
const hubID = (location.pathname.match(/^\/d\/([^/]+)\//) || [])[1];

// wsURL is this page's own host: the device, or the hub's endpoint /<id>.
function wsURL() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return proto + "//" + location.host + "/" + (hubID || "");
}

let ws = null;
let deviceUp = false;   // the WebSocket is open and (through a hub) the device is connected
let pending = null;     // the one request waiting for its answer
let retries = 0;
let restartedAt = 0;    // when a restart was asked for, to say when nothing comes back
let inRecovery = false; // the last state object seen was recovery's
let statusDue = true;   // the files and log have not been asked for since (re)connecting
let liveSince = 0;      // when the log subscription was made or renewed; 0: none, -1: not supported
const dirty = new Set(); // files edited here since they were loaded or saved
let revealed = false;    // the files show their passwords (local page only): refreshes leave them
// loaded holds the files whose text is on the page: rendered by the device,
// or (through a hub) once GET status brought them; only those can be saved.
const loaded = new Set(viaHub ? [] : Array.from(document.querySelectorAll("form.file"), (f) => f.dataset.file));

function show(out, ok, text) {
  out.className = ok ? "ok" : "bad";
  out.textContent = text;
}

function setConn(cls, text) {
  const el = $("conn");
  el.className = "conn " + cls;
  el.textContent = text;
}

// setUp enables the controls that need the device.
function setUp(on) {
  deviceUp = on;
  if (!on) { statusDue = true; liveSince = 0; }
  $("restart").disabled = !on;
  for (const form of document.querySelectorAll("form.file")) {
    form.querySelector("button").disabled = !on || !loaded.has(form.dataset.file);
  }
  if (on) setConn("up", viaHub ? "connected to the device through the hub" : "connected to the device");
}

// request sends one request and resolves with the message done accepts,
// or rejects with the device's (or the hub's) error.
function request(kind, item, args, done) {
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN || !deviceUp) {
      reject(new Error("not connected to the device"));
      return;
    }
    if (pending) {
      reject(new Error("another request is under way"));
      return;
    }
    const timer = setTimeout(() => finish(new Error("no answer from the device in 20 s")), 20000);
    function finish(err, msg) {
      clearTimeout(timer);
      pending = null;
      if (err) reject(err); else resolve(msg);
    }
    pending = { done, finish };
    ws.send(JSON.stringify([kind, item, args]));
  });
}

// fillStatus shows a GET status answer: the log always, each file unless
// it is being edited here.
function fillStatus(m) {
  if (typeof m["recovery/reason"] === "string") $("reason").textContent = m["recovery/reason"];
  if (typeof m["recovery/root"] === "string" && m["recovery/root"]) $("root").textContent = "in " + m["recovery/root"];
  if (Array.isArray(m["recovery/log"]) && liveSince <= 0) showLog(m["recovery/log"], true);
  for (const form of document.querySelectorAll("form.file")) {
    const file = form.dataset.file, text = m["recovery/file/" + file];
    if (typeof text !== "string" || dirty.has(file) || revealed) continue;
    const ta = form.elements.text;
    if (ta.value !== text) ta.value = text;
    ta.placeholder = "";
    loaded.add(file);
    form.querySelector("button").disabled = !deviceUp;
    const note = form.querySelector(".note"), why = m["recovery/file/" + file + "/note"];
    note.textContent = why || "";
    note.hidden = !why;
  }
}

// showLog shows log lines in place of what is shown, or after it, keeping
// the newest 1000, and the view at the end if it was there.
function showLog(lines, replace) {
  const log = $("log");
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const all = (replace ? [] : log.textContent.split("\n").slice(0, -1)).concat(lines.map(String));
  log.textContent = all.slice(-1000).map((l) => l + "\n").join("");
  if (atEnd) log.scrollTop = log.scrollHeight;
}

// receive handles one message from the device (or the hub).
function receive(data) {
  let m;
  try { m = JSON.parse(data); } catch (e) { return; }
  if (!m || typeof m !== "object" || Array.isArray(m)) return;
  if ("hub/device/connected" in m) {
    const on = m["hub/device/connected"] === true;
    setUp(on);
    if (on) { if (inRecovery) refresh(); } else {
      inRecovery = false; // what it runs when it is back, its state will say
      setConn("down", "the device is offline" + (m["hub/device/reason"] ? " (" + m["hub/device/reason"] + ")" : "") +
        (restartedAt ? ": restarting, waiting for it to come back…" : ""));
    }
  }
  // A state object names its app: recovery's says "recovery" (older
  // devices only "recovery": true). Any other app means the device left
  // recovery: show the app's page.
  const rec = m.recovery === true && (m.app === undefined || m.app === "recovery");
  if (typeof m.app === "string" && !rec) {
    location.reload();
    return;
  }
  if (rec) {
    inRecovery = true;
    if (typeof m["recovery/reason"] === "string") $("reason").textContent = m["recovery/reason"];
    if (statusDue) refresh();
  }
  if ("recovery/log" in m) { statusDue = false; fillStatus(m); }
  if (Array.isArray(m["log/recent"])) showLog(m["log/recent"], true);
  if (Array.isArray(m["log/lines"])) showLog(m["log/lines"], false);
  if (pending) {
    if (typeof m.error === "string") pending.finish(new Error(m.error));
    else if (pending.done(m)) pending.finish(null, m);
  }
}

function connect() {
  setConn("connecting", "connecting…");
  const sock = new WebSocket(wsURL());
  ws = sock;
  sock.onopen = () => {
    retries = 0;
    if (!viaHub) setUp(true); // through a hub, wait for hub/device/connected
  };
  sock.onmessage = (ev) => receive(ev.data);
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    inRecovery = false;
    setUp(false);
    if (pending) pending.finish(new Error("the connection to the device closed"));
    const delay = Math.min(5000, 250 * 2 ** retries++);
    if (restartedAt && Date.now() - restartedAt > 60000) {
      show($("restart-result"), false, "nothing answers on this address a minute after the restart: the app may serve on another address (see app.json), or the device is still starting; reload this page to look again");
    }
    setConn("down", restartedAt ? "the device is restarting, waiting for it…" : "disconnected, retrying…");
    setTimeout(connect, delay);
  };
}

// refresh asks the device in recovery for the reason, the log and the
// files, then follows its log live (renewed every minute, as a
// subscription lapses after five); a device that cannot stream its log
// is asked for its status every few seconds instead. It never asks a
// device that may run its app again: that would answer an error.
async function refresh() {
  if (pending || !deviceUp || !inRecovery) return;
  try {
    if (statusDue || liveSince < 0) await request("GET", "status", [], (m) => "recovery/log" in m);
    if (liveSince >= 0 && Date.now() - liveSince > 60000) {
      // A first subscription answers the recent lines too; a renewal (the
      // hub's connection follows the log already: a page reloaded, or
      // another one open) only "log/subscribed".
      await request("CMD", "log_subscribe", ["info"], (m) => "log/subscribed" in m);
      liveSince = Date.now();
    }
  } catch (e) {
    if (/log_subscribe/.test(e.message)) liveSince = -1; // an older device: poll its status
  }
}

function initFiles() {
  for (const form of document.querySelectorAll("form.file")) {
    const file = form.dataset.file;
    form.elements.text.addEventListener("input", () => dirty.add(file));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = form.querySelector("output"), btn = form.querySelector("button");
      btn.disabled = true;
      try {
        const r = await request("CMD", "save_config", [file, form.elements.text.value], (m) => m["recovery/saved"] === file);
        dirty.delete(file);
        show(out, true, r.info || "saved " + file);
      } catch (e) {
        show(out, false, e.message);
      } finally {
        btn.disabled = !deviceUp;
      }
    });
  }
}

function initRestart() {
  const btn = $("restart"), out = $("restart-result");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      const r = await request("CMD", "restart", [], (m) => typeof m.info === "string" && m.info.startsWith("restarting"));
      restartedAt = Date.now();
      show(out, true, r.info + "; this page follows it");
    } catch (e) {
      show(out, false, e.message);
      btn.disabled = !deviceUp;
    }
  });
}

// initReveal: the local page's "Show passwords" asks the device's own
// port for the files unmasked (GET api/status?reveal=1, never over the
// WebSocket, which a hub relays); "Hide passwords" asks for them masked
// again (a file edited meanwhile keeps its edit).
function initReveal() {
  const btn = $("reveal");
  if (!btn) return;
  btn.addEventListener("click", async () => {
    if (revealed) {
      revealed = false;
      btn.textContent = "Show passwords";
      statusDue = true;
      refresh();
      return;
    }
    try {
      const res = await fetch("api/status?reveal=1", { cache: "no-store" });
      const st = await res.json();
      if (!res.ok) throw new Error(st.error || res.statusText);
      for (const f of st.files) {
        const form = document.querySelector('form.file[data-file="' + f.name + '"]');
        if (form && !dirty.has(f.name)) form.elements.text.value = f.text;
      }
      revealed = true;
      btn.textContent = "Hide passwords";
    } catch (e) {
      show($("reveal-result"), false, "cannot show the passwords: " + e.message);
    }
  });
}

initFiles();
initRestart();
initReveal();
setUp(false);
$("log").scrollTop = $("log").scrollHeight; // the newest lines first in view
connect();
setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 5000);
