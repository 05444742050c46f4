// The hub's device list: polls /api/devices every second.
'use strict';
const tbody = document.querySelector('#devices tbody');

function ago(t) {
  const s = Math.max(0, Math.round((Date.now() - new Date(t)) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return new Date(t).toLocaleString();
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function render(devices) {
  tbody.textContent = '';
  for (const d of devices) {
    const tr = document.createElement('tr');
    tr.dataset.device = d.id;
    const a = document.createElement('a');
    a.href = '/d/' + encodeURIComponent(d.id) + '/';
    a.textContent = d.id;
    cell(tr, '').appendChild(a);
    const st = cell(tr, '');
    const span = document.createElement('span');
    const state = d.online ? (d.recovery ? 'recovery' : 'online') : 'offline';
    span.className = 'status ' + state;
    span.textContent = state;
    st.appendChild(span);
    const why = d.online ? d.recovery_reason : d.reason;
    if (why) {
      const r = document.createElement('div');
      r.className = 'reason';
      r.textContent = why;
      st.appendChild(r);
    }
    cell(tr, ago(d.since)).title = d.since;
    cell(tr, d.messages_in ?? '');
    cell(tr, d.messages_out ?? '');
    cell(tr, d.pages ?? 0);
    cell(tr, d.hub || '');
    tbody.appendChild(tr);
  }
  const online = devices.filter(d => d.online).length;
  document.getElementById('summary').textContent = online + ' of ' + devices.length + ' devices online';
  document.getElementById('empty').hidden = devices.length > 0;
}

async function poll() {
  try {
    const r = await fetch('/api/devices', {headers: {Accept: 'application/json'}});
    if (r.status === 401) { location.href = '/login'; return; }
    render(await r.json());
  } catch (e) {
    document.getElementById('summary').textContent = 'hub unreachable: ' + e;
  }
  setTimeout(poll, 1000);
}

async function hubInfo() {
  try {
    const r = await fetch('/api/hub', {headers: {Accept: 'application/json'}});
    const h = await r.json();
    document.getElementById('hubname').textContent = h.name;
    document.getElementById('open-warning').hidden = !h.open;
    document.getElementById('logout').hidden = h.open;
    document.getElementById('devurl').textContent =
      (h.tls ? 'wss' : 'ws') + '://' + location.hostname + ':<device port>/<device-id>';
  } catch (e) { /* poll() reports it */ }
}

hubInfo();
poll();
