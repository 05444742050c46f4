// tether device page: talks the seed's command protocol over a WebSocket.
// Requests are ["GET"|"CMD", item, args]; replies are flat JSON objects.
// Every value from the device is shown with textContent, never as HTML.
//
// This file is the page's core: where the command API is, the connection
// and the device's presence (a banner, controls off, while it is away),
// requests and the errors they earn (shown next to the control that sent
// them), and the seed's cards. ops.js adds the maintenance cards, and
// appitems.js the app's own card, through window.tether.
'use strict';

const $ = (id) => document.getElementById(id);

// wsURL finds the command API: ?ws=URL wins; a page under /d/<id>/ (served
// through a hub) uses the hub's page endpoint /<id>; otherwise the port the
// device wrote into <meta name="tether-ws-port">, else the page's own port.
// ?ws= may only name this page's own host (any port): another server would
// get everything typed here, the WiFi password too.
function wsURL() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const override = new URLSearchParams(location.search).get('ws');
  if (override) {
    const u = new URL(override, location.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error('?ws= must be a ws:// or wss:// URL, got ' + u.protocol);
    if (u.hostname !== location.hostname) {
      throw new Error('?ws= may only name this page\'s own host ' + location.hostname + ', got ' + u.hostname);
    }
    return u.href;
  }
  const hub = location.pathname.match(/^\/d\/([^/]+)\//);
  if (hub) return proto + '//' + location.host + '/' + hub[1];
  const meta = document.querySelector('meta[name="tether-ws-port"]');
  const port = meta && meta.content;
  return proto + '//' + (port ? location.hostname + ':' + port : location.host) + '/';
}

// hubDevice is the device id when the page is served by a hub (/d/<id>/).
const hubDevice = (location.pathname.match(/^\/d\/([^/]+)\//) || [])[1];

let url = null;
let ws = null;
let retries = 0;
let retryTimer = null;
let online = false; // the device answers: the socket is up and, through a hub, the device is there
let lastSeen = null; // when the device last sent something
let replayedAt = null; // through a hub: when the state shown was the device's, if it is the hub's copy
const listeners = []; // [pred(key), fn(key, value, message)] from ops.js
const onlineHooks = []; // fn(online) from ops.js
const replyHooks = []; // fn(from, message) from ops.js: a reply (info or error) to a control's request

// setOnline turns the controls on or off as the device comes and goes;
// coming back, it asks for the state afresh and clears the old errors.
function setOnline(on, why) {
  const was = online;
  online = on;
  for (const el of document.querySelectorAll('main button, main select, #apply-bar button')) {
    if (!el.hasAttribute('data-local')) el.disabled = !on;
  }
  refreshSend();
  if (ws && ws.readyState === WebSocket.OPEN) status(on ? 'up' : 'down', on ? 'connected' : 'offline'); // through a hub, the hub's word on the device
  if (on) {
    $('presence').hidden = true;
    if (!was) {
      clearErrors();
      pending.length = 0;
      send('GET', 'help'); // the app's items; appitems.js asks for CMD hal when the device has it
      send('GET', 'wifi');
    }
  } else {
    pending.length = 0;
    presence(why);
  }
  for (const f of onlineHooks) f(on, was);
}

// presence shows the banner: why the device is not there and when it was
// last seen (by this page, or else by the hub).
function presence(why) {
  $('presence').hidden = false;
  $('presence-reason').textContent = why || 'not connected';
  $('presence-seen').textContent = lastSeen ? '· last seen ' + when(lastSeen) : '';
  $('presence-copy').textContent = replayedAt && !lastSeen ? 'What the page shows is the hub\'s copy of its state, from ' + when(replayedAt) + '.' : '';
  if (!lastSeen && hubDevice) {
    fetch('/api/devices/' + encodeURIComponent(hubDevice), { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((d) => {
        if (d && d.last_seen && !online && !lastSeen) $('presence-seen').textContent = '· last seen ' + when(new Date(d.last_seen));
      })
      .catch(() => {});
  }
}

// when says a time as the clock and how long ago.
function when(t) {
  const s = Math.max(0, Math.round((Date.now() - t.getTime()) / 1000));
  const ago = s < 90 ? s + ' s ago' : s < 5400 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
  return t.toLocaleTimeString() + ' (' + ago + ')';
}

function log(dir, text) {
  const el = $('log');
  const line = new Date().toLocaleTimeString() + ' ' + dir + ' ' + text + '\n';
  el.append(document.createTextNode(line));
  while (el.childNodes.length > 300) el.removeChild(el.firstChild);
  el.scrollTop = el.scrollHeight;
}

function status(cls, text) {
  const el = $('conn');
  el.className = 'conn ' + cls;
  el.textContent = text;
}

function connect() {
  clearTimeout(retryTimer);
  status('connecting', 'connecting to ' + url + '…');
  let sock;
  try {
    sock = new WebSocket(url);
  } catch (e) {
    log('!', 'bad WebSocket URL ' + url + ': ' + e.message);
    status('down', 'bad WebSocket URL (use ?ws=ws://host:port/)');
    return;
  }
  ws = sock;
  sock.onopen = () => {
    retries = 0;
    status('up', 'connected');
    log('·', 'connected to ' + url);
    if (!hubDevice) setOnline(true); // through a hub, the hub says when the device is there
  };
  sock.onmessage = (ev) => receive(ev.data);
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null;
    if (ev.code === 4001 && !hubDevice) { // the device password changed: its login form
      status('down', 'the device password changed: log in again');
      location.reload();
      return;
    }
    const delay = Math.min(30, 2 ** retries) * (0.8 + Math.random() * 0.4);
    retries++;
    const why = 'connection closed (' + ev.code + (ev.reason ? ' ' + ev.reason : '') + ')';
    log('·', why);
    status('down', 'disconnected, retrying in ' + Math.round(delay) + ' s');
    setOnline(false, (hubDevice ? 'lost the hub: ' : 'lost the device: ') + why);
    retryTimer = setTimeout(connect, delay * 1000);
  };
}

// pending are this page's requests in the order sent, each with the
// control that sent it; the device handles a client's requests in order and
// sends its state object after each, so an error belongs to the oldest
// request still waiting, and a state object ends it.
const pending = [];

// send sends a request; from names the control that asked (its errors go
// next to it), or nothing for the page's own requests. Nothing is sent
// while the device is away: what the hub replays of it (its shadow) must
// not set off requests that could only fail.
function send(kind, item, args = [], from = null) {
  const msg = JSON.stringify([kind, item, args]);
  if (!ws || ws.readyState !== WebSocket.OPEN || !online) {
    log('!', 'the device is not connected: ' + msg + ' not sent');
    return false;
  }
  ws.send(msg);
  pending.push({ from, failed: false });
  log('→', msg.length > 300 ? msg.slice(0, 300) + '…' : msg);
  return true;
}

// errorBox returns the error line of a control, made next to it (after
// its row) on first use.
function errorBox(from) {
  if (!from) return $('general-err');
  let box = document.querySelector('[data-err-for="' + CSS.escape(from) + '"]');
  if (!box) {
    const ctl = $(from);
    const anchor = (ctl && (ctl.closest('.row') || ctl)) || $('general-err');
    box = document.createElement('p');
    box.className = 'err';
    box.dataset.errFor = from;
    box.setAttribute('role', 'alert');
    anchor.after(box);
  }
  return box;
}

// showError puts a device's error next to the control that caused it; it
// stays until that control's next request succeeds.
function showError(from, text) {
  const box = errorBox(from);
  box.textContent = text;
  box.hidden = false;
}

function clearError(from) {
  const box = from ? document.querySelector('[data-err-for="' + CSS.escape(from) + '"]') : $('general-err');
  if (box) box.hidden = true;
}

function clearErrors() {
  for (const box of document.querySelectorAll('.err')) box.hidden = true;
}

function show(v) {
  if (v === true) return 'yes';
  if (v === false) return 'no';
  if (v === null || v === undefined || v === '') return '–';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function receive(data) {
  log('←', data.length > 2000 ? data.slice(0, 2000) + '…' : data);
  let m;
  try {
    m = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return;
  if ('hub/device/connected' in m) {
    hubPresence(m);
    return;
  }
  // A device that fell into recovery serves the recovery page (through a
  // hub too, which serves it at /d/<id>/ by the same rule): load it.
  if (m.recovery === true && (m.app === undefined || m.app === 'recovery')) {
    location.reload();
    return;
  }
  if (m['hub/shadow/replayed'] === true) replayedAt = new Date(Date.now() - (Number(m['hub/shadow/age']) || 0) * 1000);
  if (online) lastSeen = new Date(); // through a hub, what comes before it says the device is there is its shadow
  if ('error' in m) {
    const req = pending[0];
    if (req) req.failed = true;
    showError(req ? req.from : null, 'device says: ' + show(m.error));
  }
  if (('error' in m || 'info' in m) && pending[0] && pending[0].from) {
    for (const f of replyHooks) f(pending[0].from, m);
  }
  for (const [k, v] of Object.entries(m)) {
    for (const el of document.querySelectorAll('[data-key="' + CSS.escape(k) + '"]')) {
      el.textContent = show(v);
    }
    if (k === 'iam') document.title = show(v) + ' · tether';
    driverKey(k, v);
    if (k === 'hal/drivers' && Array.isArray(v)) drivers(v);
    if (k === 'wifi/test/result' || k === 'wifi/store/result') send('GET', 'wifi');
    if (k === 'wifi/store/result') $('pass').value = '';
    if (k === 'wifi/net/signal') $('signal').textContent = v ? v + ' %' : '–';
    if (k === 'wifi/net/stored' && v && !$('ssid').value) $('ssid').value = v;
    for (const [pred, fn] of listeners) if (pred(k)) fn(k, v, m);
  }
  if ('iam' in m) {
    const req = pending.shift(); // the state object ends a request
    if (req && !req.failed) clearError(req.from);
  }
}

// hubPresence follows the hub's word on the device: gone (with why) or back.
function hubPresence(m) {
  if (m['hub/device/connected'] === true) {
    setOnline(true);
    return;
  }
  if (online) lastSeen = new Date();
  setOnline(false, m['hub/device/reason'] || 'not connected to the hub');
}

// The drivers the device listed (CMD hal), and the one the interface card
// drives: the seed's fake_interface unless another is picked. Requests for
// the fake interface name no driver, as the seed's page sent them.
let driverList = [];
let pickedRunning = false;
const picked = () => $('driver').value || 'fake_interface';
const driverArgs = (args = []) => (picked() === 'fake_interface' ? args : args.concat([picked()]));

// driverKey shows a driver's keys: "<name>/running" and "/status" in the
// drivers table and, for the picked one, on the card; what a driver sends
// ("/msg", "/line", "/data") in Received.
function driverKey(k, v) {
  const slash = k.lastIndexOf('/');
  if (slash < 1) return;
  const name = k.slice(0, slash), what = k.slice(slash + 1);
  if (what === 'running') {
    for (const td of document.querySelectorAll('[data-running="' + CSS.escape(name) + '"]')) {
      td.textContent = v ? 'running' : 'stopped';
    }
    if (name === picked()) running(v === true || v === 'true' || v === 'True');
  } else if (what === 'status') {
    for (const td of document.querySelectorAll('[data-status="' + CSS.escape(name) + '"]')) statusCell(td, v);
    if (name === picked()) $('drv-status').textContent = show(v);
  } else if (['msg', 'line', 'data'].includes(what) && driverList.some((d) => d.name === name)) {
    received((driverList.length > 1 ? name + ': ' : '') + show(v));
  } else if (what === 'msg' && name === 'fake_interface') {
    received(show(v));
  }
}

// running shows the picked driver's state; Send works only while it runs.
function running(on) {
  pickedRunning = on;
  $('fake-state').textContent = on ? 'running' : 'stopped';
  $('fake-state').className = on ? 'ok' : '';
  refreshSend();
}

function refreshSend() {
  $('send').disabled = !online || !pickedRunning;
  $('send').title = pickedRunning ? '' : 'start the interface first';
}

function received(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('received').prepend(li);
  while ($('received').children.length > 50) $('received').lastChild.remove();
}

function drivers(list) {
  driverList = list;
  const body = $('drivers');
  body.replaceChildren();
  for (const d of list) {
    const tr = document.createElement('tr');
    for (const v of [d.name, d.kind, d.running ? 'running' : 'stopped', d.status]) {
      const td = document.createElement('td');
      td.textContent = show(v);
      tr.append(td);
    }
    tr.children[2].dataset.running = String(d.name);
    tr.children[3].dataset.status = String(d.name);
    statusCell(tr.children[3], d.status);
    body.append(tr);
  }
  const sel = $('driver'), was = picked();
  sel.replaceChildren(...list.map((d) => new Option(d.name + ' (' + d.kind + ')', d.name)));
  sel.value = list.some((d) => d.name === was) ? was : list.length ? list[0].name : '';
  $('driver-pick').hidden = list.length < 2;
  pick();
}

// statusCell shows a status's first word ("open", "waiting", "error"), the
// whole of it on hover; the interface card shows the picked one in full.
function statusCell(td, status) {
  td.textContent = show(status ? String(status).split(':')[0] : '');
  td.title = status ? String(status) : '';
}

// pick shows the picked driver on the interface card.
function pick() {
  const d = driverList.find((x) => x.name === picked()) || { name: picked(), kind: 'fake' };
  const fake = d.kind === 'fake';
  $('h-fake').textContent = d.name === 'fake_interface' ? 'Fake interface' : 'Interface ' + d.name;
  $('drv-about').textContent = fake ? 'Sends text to the device, which answers it upper-cased.'
    : 'Sends lines to the ' + d.kind + ' port; what it sends shows below.';
  running(d.running === true);
  $('drv-status').textContent = d.status || '';
}

function credentials(from) {
  const ssid = $('ssid').value.trim();
  if (!ssid) {
    showError(from, 'enter a network name (SSID) first');
    $('ssid').focus();
    return null;
  }
  clearError(from);
  return [ssid, $('pass').value];
}

// stored is the network the device keeps and goes back to, as it said.
const stored = () => {
  const s = document.querySelector('[data-key="wifi/net/stored"]').textContent;
  return s && s !== '–' ? '"' + s + '"' : 'its stored network';
};

$('test').onclick = () => {
  const c = credentials('test');
  if (c && confirm('Test network "' + c[0] + '"? The device leaves its network to join it (a page that reaches the device over '
    + 'WiFi may lose it for up to half a minute). If the join works, the device stays on "' + c[0] + '" until the link drops '
    + 'or it restarts, then goes back to ' + stored() + '; if not, it rejoins ' + stored() + ' at once. Nothing is saved.')) {
    send('CMD', 'test_new_sta', c, 'test');
  }
};
$('store').onclick = () => {
  const c = credentials('store');
  if (c && confirm('Save network "' + c[0] + '" on the device? It is tried first: if the device can join it, it is stored '
    + 'and used from now on; if not, the device goes back to ' + stored() + ' and nothing is saved.')) {
    send('CMD', 'store_new_sta', c, 'store');
  }
};
$('refresh').onclick = () => send('GET', 'wifi', [], 'refresh');
$('hal').onclick = () => send('CMD', 'hal', [], 'hal');
$('driver').onchange = () => { pick(); send('CMD', 'hal'); };
$('start').onclick = () => send('CMD', 'start_interface', driverArgs(), 'start');
$('stop').onclick = () => send('CMD', 'stop_interface', driverArgs(), 'stop');
$('send-form').onsubmit = (ev) => {
  ev.preventDefault();
  if ($('send').disabled) return;
  if (send('CMD', 'send_message', driverArgs([$('text').value]), 'send')) $('text').value = '';
};
$('clear').onclick = () => $('log').replaceChildren();
// The device password's form is the device's own (a hub's pages have none).
$('device-password').hidden = !!hubDevice;

// window.tether is what ops.js builds on.
window.tether = {
  send, show, showError, clearError, log,
  on: (pred, fn) => listeners.push([pred, fn]),
  onOnline: (fn) => onlineHooks.push(fn),
  onReply: (fn) => replyHooks.push(fn),
  online: () => online,
};

// start connects once every script of the page has run (ops.js and
// appitems.js come after this one, and a slow board serves them late):
// what the device answers first (GET help) must find their listeners.
function start() {
  try {
    url = wsURL();
    $('endpoint').textContent = url;
    setOnline(false, 'connecting');
    $('presence').hidden = true; // not an outage yet
    connect();
  } catch (e) {
    status('down', 'not connected');
    showError(null, e.message);
    log('!', e.message);
  }
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
