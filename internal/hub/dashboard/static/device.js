// A device's page through the hub: speaks the device command protocol
// (["GET"|"CMD", item, args] out; flat-key JSON objects in) over the hub's
// page endpoint for this device, reconnecting when the connection drops.
'use strict';
const id = decodeURIComponent(location.pathname.split('/')[2]);
const wsURL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' + encodeURIComponent(id);
const state = {};
let ws;

document.getElementById('devid').textContent = id;
document.title = id + ' · tether';

function log(dir, text) {
  const el = document.getElementById('log');
  el.textContent += new Date().toLocaleTimeString() + ' ' + dir + ' ' + text + '\n';
  el.scrollTop = el.scrollHeight;
}

function status(online, why) {
  const s = document.getElementById('status');
  s.className = 'status ' + (online ? 'online' : 'offline');
  s.textContent = online ? 'device online' : 'device offline' + (why ? ': ' + why : '');
  s.dataset.online = online ? 'true' : 'false';
}

function renderState() {
  const tb = document.querySelector('#state tbody');
  tb.textContent = '';
  for (const k of Object.keys(state).sort()) {
    const tr = document.createElement('tr');
    tr.dataset.key = k;
    const a = document.createElement('td'), b = document.createElement('td');
    a.textContent = k;
    b.textContent = typeof state[k] === 'string' ? state[k] : JSON.stringify(state[k]);
    tr.append(a, b);
    tb.appendChild(tr);
  }
}

function onMessage(ev) {
  log('←', typeof ev.data === 'string' ? ev.data : '[binary]');
  let m;
  try { m = JSON.parse(ev.data); } catch (e) { return; }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return;
  if ('hub/device/connected' in m) status(m['hub/device/connected'], m['hub/device/reason']);
  for (const [k, v] of Object.entries(m)) if (!k.startsWith('hub/')) state[k] = v;
  renderState();
}

function connect() {
  ws = new WebSocket(wsURL);
  ws.onmessage = onMessage;
  ws.onclose = ev => {
    status(false, 'hub connection closed' + (ev.reason ? ': ' + ev.reason : ''));
    setTimeout(connect, 2000);
  };
}

function send(req) {
  if (!ws || ws.readyState !== WebSocket.OPEN) { log('!', 'not connected to the hub'); return; }
  const text = typeof req === 'string' ? req : JSON.stringify(req);
  log('→', text);
  ws.send(text);
}

for (const b of document.querySelectorAll('button[data-req]')) {
  b.addEventListener('click', () => send(b.dataset.req));
}
document.getElementById('sendform').addEventListener('submit', e => {
  e.preventDefault();
  send(['CMD', 'send_message', [document.getElementById('text').value]]);
});
document.getElementById('rawform').addEventListener('submit', e => {
  e.preventDefault();
  send(document.getElementById('raw').value);
});
connect();
