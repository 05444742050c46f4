// tether device page: talks the seed's command protocol over a WebSocket.
// Requests are ["GET"|"CMD", item, args]; replies are flat JSON objects.
// Every value from the device is shown with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

// wsURL finds the command API: ?ws=URL wins; a page under /d/<id>/ (served
// through a hub) uses the hub's page endpoint /<id>; otherwise the port the
// device wrote into <meta name="tether-ws-port">, else the page's own port.
function wsURL() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const override = new URLSearchParams(location.search).get('ws');
  if (override) {
    const u = new URL(override, location.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.href;
  }
  const hub = location.pathname.match(/^\/d\/([^/]+)\//);
  if (hub) return proto + '//' + location.host + '/' + hub[1];
  const meta = document.querySelector('meta[name="tether-ws-port"]');
  const port = meta && meta.content;
  return proto + '//' + (port ? location.hostname + ':' + port : location.host) + '/';
}

const url = wsURL();
let ws = null;
let retries = 0;
let retryTimer = null;

// connected enables the controls that need the device. Start and Stop stay
// enabled whatever the state: both are idempotent on the device.
function connected(on) {
  for (const id of ['refresh', 'test', 'store', 'hal', 'start', 'stop', 'send']) $(id).disabled = !on;
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
    connected(true);
    log('·', 'connected to ' + url);
    send('GET', 'wifi');
    send('CMD', 'hal');
  };
  sock.onmessage = (ev) => receive(ev.data);
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null;
    connected(false);
    const delay = Math.min(30, 2 ** retries) * (0.8 + Math.random() * 0.4);
    retries++;
    log('·', 'connection closed (' + ev.code + (ev.reason ? ' ' + ev.reason : '') + ')');
    status('down', 'disconnected, retrying in ' + Math.round(delay) + ' s');
    retryTimer = setTimeout(connect, delay * 1000);
  };
}

function send(kind, item, args = []) {
  const msg = JSON.stringify([kind, item, args]);
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    log('!', 'not connected: ' + msg + ' not sent');
    return false;
  }
  ws.send(msg);
  log('→', msg);
  return true;
}

function show(v) {
  if (v === true) return 'yes';
  if (v === false) return 'no';
  if (v === null || v === undefined || v === '') return '–';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function receive(data) {
  log('←', data);
  let m;
  try {
    m = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return;
  for (const [k, v] of Object.entries(m)) {
    for (const el of document.querySelectorAll('[data-key="' + CSS.escape(k) + '"]')) {
      el.textContent = show(v);
    }
    if (k === 'error') status(ws ? 'up warn' : 'down', 'device says: ' + show(v));
    if (k === 'iam') document.title = show(v) + ' · tether';
    driverKey(k, v);
    if (k === 'hal/drivers' && Array.isArray(v)) drivers(v);
    if (k === 'wifi/test/result' || k === 'wifi/store/result') send('GET', 'wifi');
  }
}

// The drivers the device listed (CMD hal), and the one the interface card
// drives: the seed's fake_interface unless another is picked. Requests for
// the fake interface name no driver, as the seed's page sent them.
let driverList = [];
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

function running(on) {
  $('fake-state').textContent = on ? 'running' : 'stopped';
  $('fake-state').className = on ? 'ok' : '';
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

function credentials() {
  const ssid = $('ssid').value.trim();
  if (!ssid) {
    status(ws ? 'up warn' : 'down', 'enter a network name (SSID) first');
    $('ssid').focus();
    return null;
  }
  return [ssid, $('pass').value];
}

$('test').onclick = () => {
  const c = credentials();
  if (c && confirm('Test network "' + c[0] + '"? The device leaves its network to try it, then comes back.')) {
    send('CMD', 'test_new_sta', c);
  }
};
$('store').onclick = () => {
  const c = credentials();
  if (c && confirm('Save network "' + c[0] + '" on the device? It is tried first and rolled back if it fails.')) {
    send('CMD', 'store_new_sta', c);
  }
};
$('refresh').onclick = () => send('GET', 'wifi');
$('hal').onclick = () => send('CMD', 'hal');
$('driver').onchange = () => { pick(); send('CMD', 'hal'); };
$('start').onclick = () => send('CMD', 'start_interface', driverArgs());
$('stop').onclick = () => send('CMD', 'stop_interface', driverArgs());
$('send-form').onsubmit = (ev) => {
  ev.preventDefault();
  if (send('CMD', 'send_message', driverArgs([$('text').value]))) $('text').value = '';
};
$('clear').onclick = () => $('log').replaceChildren();
$('endpoint').textContent = url;
connect();
