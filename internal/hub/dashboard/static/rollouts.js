// The hub's rollouts: polls /api/rollouts every 2 s and shows each rollout
// with its devices' states and reasons; Pause, Resume and Abort post to
// /api/rollouts/<id>/<action>. Text only (textContent), never HTML from
// the API.
'use strict';

const list = document.querySelector('#rollouts');
const summary = document.querySelector('#summary');
const open = new Set(); // rollouts whose devices are shown

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

const finals = new Set(['committed', 'rolled_back', 'refused']);
const badge = (state) => el('span', { class: 'status ' + (state === 'committed' || state === 'done' ? 'online'
  : state === 'rolled_back' || state === 'refused' || state === 'aborted' ? 'offline' : 'recovery') }, state);

function counts(r) {
  return Object.entries(r.counts || {}).map(([k, n]) => n + ' ' + k).join(', ');
}

async function act(r, action, button) {
  button.disabled = true;
  const res = await fetch('/api/rollouts/' + encodeURIComponent(r.id) + '/' + action, { method: 'POST' });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    alert(action + ' ' + r.id + ': ' + (body.error || res.status));
  }
  refresh();
}

function rollout(r) {
  const m = (r.artifact && r.artifact.manifest) || {};
  const head = el('div', { class: 'toolbar' },
    el('strong', {}, r.id), badge(r.state),
    el('span', {}, `${m.kind} ${m.name} ${m.version} to ${r.devices.length} devices (${r.selected}), canary ${r.canary}, waves of ${r.wave}, paused by ${r.max_failures} failed`),
    el('span', { class: 'muted' }, counts(r)));
  for (const [action, when] of [['pause', 'running'], ['resume', 'paused'], ['abort', 'running paused']]) {
    if (!when.split(' ').includes(r.state)) continue;
    const b = el('button', { type: 'button', 'data-action': action }, action[0].toUpperCase() + action.slice(1));
    b.addEventListener('click', () => act(r, action, b));
    head.append(b);
  }
  const more = el('button', { type: 'button', 'aria-expanded': String(open.has(r.id)) }, open.has(r.id) ? 'Hide devices' : 'Devices');
  more.addEventListener('click', () => { open.has(r.id) ? open.delete(r.id) : open.add(r.id); render(last); });
  head.append(more);
  const box = el('section', { class: 'rollout', 'data-id': r.id }, head);
  if (r.reason) box.append(el('p', { class: 'reason' }, r.reason));
  if (open.has(r.id)) {
    const tbody = el('tbody');
    for (const id of r.devices) {
      const res = r.results[id] || {};
      tbody.append(el('tr', { 'data-device': id },
        el('td', {}, el('a', { href: '/d/' + encodeURIComponent(id) + '/' }, id)),
        el('td', {}, res.wave === 0 ? 'canary' : 'wave ' + res.wave),
        el('td', {}, badge(res.state)),
        el('td', {}, el('span', { class: 'reason' }, res.reason || ''))));
    }
    box.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Device'), el('th', {}, 'Wave'), el('th', {}, 'State'), el('th', {}, 'Reason'))), tbody));
  }
  return box;
}

let last = [];
function render(rs) {
  last = rs;
  list.replaceChildren(...rs.map(rollout));
  const running = rs.filter((r) => r.state === 'running' || r.state === 'paused').length;
  summary.textContent = rs.length ? `${rs.length} rollouts, ${running} running or paused` : 'No rollout yet: tether push starts one.';
}

async function refresh() {
  try {
    const res = await fetch('/api/rollouts', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.status);
    render(await res.json());
  } catch (e) {
    summary.textContent = 'Cannot read /api/rollouts: ' + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
