// The hub's device list: polls /api/devices every second and updates the
// table in place (rows are kept per device and only changed text is
// rewritten), so keyboard focus and text selection survive the updates.
// Search, the status filter and the sort column are kept in the address.
'use strict';

const $ = (sel) => document.querySelector(sel);
const tbody = $('#devices tbody');
const rows = new Map(); // device id → its <tr>
const cells = new WeakMap(); // <tr> → its cells by column name
let devices = [];       // the last /api/devices answer
const view = new URLSearchParams(location.search);
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function ago(t) {
  if (!t) return '–';
  const s = Math.max(0, Math.round((Date.now() - new Date(t)) / 1000));
  if (s < 2) return 'now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return new Date(t).toLocaleString();
}

function duration(s) {
  if (typeof s !== 'number') return '–';
  if (s < 60) return Math.floor(s) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor(s % 3600 / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor(s % 86400 / 3600) + ' h';
}

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return n.toFixed(i ? 1 : 0) + ' ' + units[i];
}

const statusOf = (d) => !d.online ? 'offline' : d.recovery ? 'recovery' : 'online';
const sys = (d, k) => (d.sys || {})[k];
// used is the part of mem or disk in use, from its total and what is free.
function used(d, what, free) {
  const total = sys(d, what + '/total'), left = sys(d, what + '/' + free);
  return typeof total === 'number' && total > 0 && typeof left === 'number' ? (total - left) / total : undefined;
}
const memUsed = (d) => used(d, 'mem', 'available'), diskUsed = (d) => used(d, 'disk', 'free');
const percent = (u) => (u === undefined ? '–' : Math.round(u * 100) + ' %');
const num = (v) => (typeof v === 'number' ? v : undefined);

// lastFailure says the app's last failure and how long ago, '' after none.
function lastFailure(d) {
  const what = sys(d, 'app/last_failure'), at = sys(d, 'app/last_failure/time');
  return what ? 'last failure ' + (at ? ago(at * 1000) : '') + ': ' + what : '';
}

// columns: what each cell sorts by (key) and shows (text, and a title).
const columns = {
  id: { key: (d) => d.id },
  status: { key: statusOf },
  app: { key: (d) => d.app, text: (d) => d.app || '–' },
  version: {
    key: (d) => d.version,
    // an update in progress, or one that did not commit, is said beside it
    text: (d) => (d.version || '–') + (d.update && d.update.state !== 'committed' ? ' · update ' + d.update.state.replace('_', ' ') : ''),
    title: (d) => d.update ? ['update', d.update.state, d.update.name, d.update.version, d.update.reason].filter(Boolean).join(' ') : '',
  },
  seen: { key: (d) => d.last_seen && Date.parse(d.last_seen), text: (d) => ago(d.last_seen), title: (d) => d.last_seen || '' },
  uptime: { key: (d) => sys(d, 'uptime'), text: (d) => duration(sys(d, 'uptime')) },
  load: {
    key: (d) => (sys(d, 'load') || [])[0],
    text: (d) => { const l = sys(d, 'load'); return Array.isArray(l) && typeof l[0] === 'number' ? l[0].toFixed(2) : '–'; },
    title: (d) => { const l = sys(d, 'load'); return Array.isArray(l) ? 'load over 1, 5, 15 min: ' + l.join(', ') : ''; },
  },
  mem: {
    key: memUsed,
    text: (d) => percent(memUsed(d)),
    title: (d) => memUsed(d) === undefined ? '' : bytes(sys(d, 'mem/total') - sys(d, 'mem/available')) + ' of ' + bytes(sys(d, 'mem/total')) + ' used',
  },
  disk: {
    key: diskUsed,
    text: (d) => percent(diskUsed(d)),
    title: (d) => diskUsed(d) === undefined ? '' : bytes(sys(d, 'disk/free')) + ' free of ' + bytes(sys(d, 'disk/total')),
  },
  temp: { key: (d) => sys(d, 'temp'), text: (d) => typeof sys(d, 'temp') === 'number' ? sys(d, 'temp').toFixed(1) + ' °C' : '–' },
  signal: { key: (d) => num(sys(d, 'wifi/signal')), text: (d) => (num(sys(d, 'wifi/signal')) === undefined ? '–' : sys(d, 'wifi/signal') + ' %') },
  restarts: {
    key: (d) => num(sys(d, 'app/restarts')),
    text: (d) => (num(sys(d, 'app/restarts')) === undefined ? '–' : String(sys(d, 'app/restarts'))),
    title: (d) => 'times the app failed and was restarted since tether started',
  },
  msgs: { key: (d) => d.messages_in, text: (d) => (d.messages_in ?? '–') + ' / ' + (d.messages_out ?? '–') },
  pages: { key: (d) => d.pages, text: (d) => String(d.pages ?? 0) },
  hub: { key: (d) => d.hub, text: (d) => d.hub || '' },
};
const labels = {};
for (const th of document.querySelectorAll('#devices th[data-col]')) labels[th.dataset.col] = th.textContent.trim();

// setText changes a cell's text in place (its one text node), so that a
// selection elsewhere in the table, or in an unchanged cell, is kept.
function setText(el, text) {
  const t = el.firstChild;
  if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) {
    if (t.data !== text) t.data = text;
  } else {
    el.textContent = text;
  }
}

function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function makeRow(id) {
  const tr = document.createElement('tr');
  tr.dataset.device = id;
  const byCol = {};
  for (const col of Object.keys(labels)) {
    const td = document.createElement('td');
    td.dataset.col = col;
    if (labels[col]) td.dataset.label = labels[col];
    tr.appendChild(td);
    byCol[col] = td;
  }
  cells.set(tr, byCol);
  const a = document.createElement('a');
  a.href = '/d/' + encodeURIComponent(id) + '/';
  a.textContent = id;
  byCol.id.appendChild(a);
  const st = byCol.status;
  const badge = document.createElement('span');
  const why = document.createElement('span');
  why.className = 'reason';
  st.append(badge, why);
  const forget = document.createElement('button');
  forget.type = 'button';
  forget.className = 'forget';
  forget.textContent = 'Forget';
  forget.setAttribute('aria-label', 'Forget ' + id);
  forget.addEventListener('click', () => forgetDevice(id));
  byCol[''].appendChild(forget);
  rows.set(id, tr);
  return tr;
}

function updateRow(tr, d) {
  const status = statusOf(d), byCol = cells.get(tr);
  setAttr(tr, 'class', status);
  const [badge, why] = byCol.status.children;
  setAttr(badge, 'class', 'status ' + status);
  setText(badge, status);
  setAttr(badge, 'title', (d.online ? 'connected since ' : 'offline since ') + d.since);
  setText(why, (!d.online ? d.reason : d.recovery ? d.recovery_reason : lastFailure(d)) || '');
  for (const [name, c] of Object.entries(columns)) {
    if (!c.text) continue;
    const td = byCol[name];
    const text = c.text(d);
    setText(td, text);
    if (td.classList.contains('none') !== (text === '–')) td.classList.toggle('none');
    if (c.title) setAttr(td, 'title', c.title(d));
  }
  byCol[''].firstChild.hidden = d.online;
}

function matches(d, filter, words) {
  if (filter && statusOf(d) !== filter) return false;
  if (!words.length) return true;
  const hay = [d.id, d.app, d.version, d.hub, d.reason, d.recovery_reason, sys(d, 'app/last_failure'), statusOf(d)].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

function compare(col, dir) {
  const key = (columns[col] || columns.id).key;
  return (a, b) => {
    const x = key(a), y = key(b);
    const missX = x === undefined || x === null || x === '' || Number.isNaN(x);
    const missY = y === undefined || y === null || y === '' || Number.isNaN(y);
    let c = 0;
    if (missX || missY) c = missX - missY; // missing values last, either way
    else c = dir * (typeof x === 'number' && typeof y === 'number' ? x - y : natural.compare(String(x), String(y)));
    return c || natural.compare(a.id, b.id);
  };
}

// reorder puts tbody's rows in the order of want, moving only the rows
// out of place, and gives focus back if a move took it away.
function reorder(want) {
  const kids = tbody.children;
  if (kids.length === want.length && want.every((tr, i) => kids[i] === tr)) return;
  const active = document.activeElement;
  want.forEach((tr, i) => { if (kids[i] !== tr) tbody.insertBefore(tr, kids[i] || null); });
  if (active && active !== document.activeElement && tbody.contains(active)) active.focus({ preventScroll: true });
}

function render() {
  const filter = view.get('filter') || '', words = (view.get('q') || '').toLowerCase().split(/\s+/).filter(Boolean);
  const sort = view.get('sort') || 'id', dir = view.get('dir') === 'desc' ? -1 : 1;
  const seen = new Set(), counts = { '': devices.length, online: 0, offline: 0, recovery: 0 };
  for (const d of devices) {
    seen.add(d.id);
    counts[statusOf(d)]++;
    updateRow(rows.get(d.id) || makeRow(d.id), d);
  }
  for (const [id, tr] of rows) if (!seen.has(id)) { tr.remove(); rows.delete(id); }
  const shown = devices.filter((d) => matches(d, filter, words)).sort(compare(sort, dir));
  const shownIDs = new Set(shown.map((d) => d.id));
  for (const [id, tr] of rows) tr.hidden = !shownIDs.has(id);
  reorder([...shown.map((d) => rows.get(d.id)), ...[...tbody.children].filter((tr) => tr.hidden)]);
  for (const el of document.querySelectorAll('[data-count]')) setText(el, String(counts[el.dataset.count]));
  setText($('#summary'), counts.online + counts.recovery + ' of ' + devices.length + ' devices online' +
    (counts.recovery ? ', ' + counts.recovery + ' in recovery' : '') +
    (shown.length < devices.length ? ' · showing ' + shown.length : ''));
  // the hub column only says something when devices are on several hubs
  const oneHub = devices.every((d) => d.hub === (devices[0] || {}).hub);
  if ($('#devices').classList.contains('one-hub') !== oneHub) $('#devices').classList.toggle('one-hub');
  $('#empty').hidden = devices.length > 0;
  $('#nomatch').hidden = devices.length === 0 || shown.length > 0;
}

// setView changes the search, filter or sort, keeps it in the address, and redraws.
function setView(changes) {
  for (const [k, v] of Object.entries(changes)) { if (v) view.set(k, v); else view.delete(k); }
  const q = view.toString();
  history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
  showView();
  render();
}

function showView() {
  const filter = view.get('filter') || '', sort = view.get('sort') || 'id', desc = view.get('dir') === 'desc';
  for (const b of document.querySelectorAll('[data-filter]')) setAttr(b, 'aria-pressed', String(b.dataset.filter === filter));
  for (const th of document.querySelectorAll('#devices th[data-col]')) {
    if (th.dataset.col === sort) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
}

async function forgetDevice(id) {
  if (!confirm('Forget ' + id + '? The hub drops what it knows of it until it connects again.')) return;
  try {
    const r = await fetch('/api/devices/' + encodeURIComponent(id), { method: 'DELETE', headers: { Accept: 'application/json' } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.status + ' ' + r.statusText);
    devices = devices.filter((d) => d.id !== id);
    render();
  } catch (e) {
    setText($('#summary'), 'could not forget ' + id + ': ' + e.message);
  }
}

async function poll() {
  try {
    const r = await fetch('/api/devices', { headers: { Accept: 'application/json' } });
    if (r.status === 401) { location.href = '/login'; return; }
    devices = await r.json();
    render();
  } catch (e) {
    setText($('#summary'), 'hub unreachable: ' + e);
  }
  setTimeout(poll, 1000);
}

async function hubInfo() {
  try {
    const r = await fetch('/api/hub', { headers: { Accept: 'application/json' } });
    const h = await r.json();
    $('#hubname').textContent = h.name;
    $('#open-warning').hidden = !h.open;
    $('#logout').hidden = h.open;
    $('#enroll-link').hidden = !(h.enroll && h.operator);
    $('#rollouts-link').hidden = !h.updates;
    $('#devurl').textContent = (h.tls ? 'wss' : 'ws') + '://' + location.hostname + ':' + (h.device_port || '<device port>') + '/<device-id>';
  } catch (e) { /* poll() reports it */ }
}

const search = $('#search');
search.value = view.get('q') || '';
search.addEventListener('input', () => setView({ q: search.value.trim() }));
for (const b of document.querySelectorAll('[data-filter]')) {
  b.addEventListener('click', () => setView({ filter: b.dataset.filter }));
}
for (const th of document.querySelectorAll('#devices th[data-col]')) {
  const col = th.dataset.col;
  if (!col) continue;
  th.querySelector('button').addEventListener('click', () => {
    const same = (view.get('sort') || 'id') === col;
    setView({ sort: col === 'id' ? '' : col, dir: same && view.get('dir') !== 'desc' ? 'desc' : '' });
  });
}
showView();
hubInfo();
poll();
