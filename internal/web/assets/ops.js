// tether device page, the maintenance cards: system information, the
// config files with apply and its confirm window ("keep these settings?"),
// the device's live log, the WiFi scan list, restart and enrollment with a
// hub. They speak tether's operator items (docs/PROTOCOL.md) through
// window.tether, which app.js makes. Everything from the device is shown
// with textContent.
'use strict';

(() => {
  const t = window.tether;
  const $ = (id) => document.getElementById(id);
  const files = ['network.json', 'app.json'];

  // ---- system information (sys/...) ----

  const bytes = (n) => {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  };
  const duration = (s) => {
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return d ? d + ' d ' + h + ' h' : h ? h + ' h ' + m + ' min' : m ? m + ' min' : Math.floor(s) + ' s';
  };
  const set = (id, text) => { $(id).textContent = text; };

  // sys shows one system information message; a key it lacks was not
  // there to read (no thermal zone, no WiFi).
  function sys(m) {
    const has = (k) => k in m;
    set('sys-uptime', has('sys/uptime') ? duration(m['sys/uptime']) + ' (tether ' + duration(m['sys/tether/uptime'] || 0) + ')' : '–');
    set('sys-load', Array.isArray(m['sys/load']) ? m['sys/load'].map((x) => x.toFixed(2)).join(' ') : '–');
    set('sys-mem', has('sys/mem/total') ? bytes(m['sys/mem/available']) + ' free of ' + bytes(m['sys/mem/total']) : '–');
    set('sys-disk', has('sys/disk/total') ? bytes(m['sys/disk/free']) + ' free of ' + bytes(m['sys/disk/total']) : '–');
    set('sys-temp', has('sys/temp') ? m['sys/temp'].toFixed(1) + ' °C' : 'no sensor');
    set('sys-signal', has('sys/wifi/signal') ? m['sys/wifi/signal'] + ' %' : 'not known');
    set('sys-version', t.show(m['sys/version']));
    set('sys-restarts', t.show(m['sys/app/restarts']) + ' (' + t.show(m['sys/app']) + ')');
    const at = m['sys/app/last_failure/time'];
    set('sys-failure', m['sys/app/last_failure'] ? m['sys/app/last_failure'] + (at ? ' at ' + new Date(at * 1000).toLocaleString() : '') : 'none');
    set('sys-time', has('sys/time') ? new Date(m['sys/time'] * 1000).toLocaleString() : '–');
  }
  let sysSeen = null;
  t.on((k) => k === 'sys/version', (k, v, m) => { if (m !== sysSeen) { sysSeen = m; sys(m); } });

  // The update in progress, or the last one (update/ keys, docs/UPDATES.md).
  t.on((k) => k === 'update/state', (k, v, m) => {
    if (!v) { set('sys-update', 'none'); return; }
    let text = [v.replace('_', ' '), m['update/name'], m['update/version']].filter(Boolean).join(' ');
    if (v === 'trial' && m['update/left']) text += ' (' + m['update/left'] + ' s left)';
    if (m['update/reason'] && v !== 'committed') text += ': ' + m['update/reason'];
    set('sys-update', text);
  });

  $('sys-refresh').onclick = () => t.send('GET', 'sys', [], 'sys-refresh');
  $('restart').onclick = () => {
    if (confirm('Restart the app? The device reads its config again and starts its app; this page reconnects by itself.')) {
      t.send('CMD', 'restart', [], 'restart');
    }
  };

  // ---- configuration, apply and its confirm window ----

  const loaded = {}; // file → text as the device sent it (masked)
  t.on((k) => k.startsWith('config/file/'), (k, v) => {
    const name = k.slice('config/file/'.length);
    if (!files.includes(name)) return;
    loaded[name] = String(v);
    $('cfg-' + name).value = loaded[name];
    $('cfg-' + name).readOnly = false;
  });
  $('cfg-load').onclick = () => t.send('GET', 'config', [], 'cfg-load');
  $('cfg-apply').onclick = () => {
    const args = [];
    for (const name of files) {
      const text = $('cfg-' + name).value;
      if (name in loaded && text !== loaded[name]) args.push(name, text);
    }
    if (!args.length) {
      t.showError('cfg-apply', 'nothing changed: edit a file first (Load config shows them)');
      return;
    }
    const secs = parseInt($('cfg-window').value, 10);
    if (secs) args.push(secs);
    t.send('CMD', 'apply_config', args, 'cfg-apply');
  };

  // The state object says whether a change waits for its window: the bar
  // asks to keep it, counting down from what the device said was left.
  let deadline = 0, lastResult = null, ticker = null;
  function applyState(m) {
    const waiting = m['config/apply'] === 'pending';
    $('apply-bar').hidden = !waiting;
    if (waiting) {
      const age = m['hub/shadow/replayed'] ? Number(m['hub/shadow/age']) || 0 : 0; // the hub's copy is that old
      deadline = Date.now() + ((m['config/apply/left'] || 0) - age) * 1000;
      const which = (m['config/apply/files'] || []).join(' and ') || 'the config';
      $('apply-text').dataset.files = which;
      tick();
      clearInterval(ticker);
      ticker = setInterval(tick, 1000);
    } else {
      clearInterval(ticker);
    }
    const result = m['config/apply/result'] || '';
    set('cfg-result', result || 'none');
    if (lastResult !== null && result && result !== lastResult) {
      notice(result);
      if (m['config/apply/outcome'] === 'reverted' && Object.keys(loaded).length) t.send('GET', 'config'); // show the files back
    }
    lastResult = result;
  }
  function tick() {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    $('apply-text').textContent = 'The change to ' + $('apply-text').dataset.files + ' is checked in ' + left
      + ' s: unless you keep it, it is rolled back if the device has lost its hub or its app has failed.';
  }
  t.on((k) => k === 'config/apply', (k, v, m) => applyState(m));
  $('apply-keep').onclick = () => t.send('CMD', 'confirm_config', [], 'apply-keep');
  $('apply-revert').onclick = () => t.send('CMD', 'revert_config', [], 'apply-revert');

  function notice(text) {
    $('notice').textContent = 'Config change: ' + text;
    $('notice').hidden = false;
  }

  // ---- the device's log, live ----

  const levels = { info: 0, warn: 1, error: 2 };
  const levelOf = (line) => {
    const m = / level=(\w+)/.exec(' ' + line);
    const w = m ? m[1].toLowerCase() : 'info';
    return w.startsWith('err') ? 2 : w.startsWith('warn') ? 1 : 0;
  };
  let following = false, paused = false, held = [], renew = null, dropped = 0;
  // fresh: the page wants the recent lines in place of what it shows (it
  // just began to follow, changed its level, or the device came back).
  // A first subscription answers them; through a hub a page may find the
  // hub's one connection following already, whose answer has none: then
  // GET log brings them. Recent lines the page did not want (another
  // page's answer, through the hub) are not added twice.
  let fresh = false;

  function addLines(lines) {
    if (paused) {
      held = held.concat(lines).slice(-1000);
      note();
      return;
    }
    const el = $('dlog'), min = levels[$('dlog-level').value];
    for (const line of lines) {
      const lv = levelOf(line);
      if (lv < min) continue;
      const div = document.createElement('div');
      div.className = ['info', 'warn', 'error'][lv];
      div.textContent = line;
      el.append(div);
    }
    while (el.childElementCount > 1000) el.firstElementChild.remove();
    el.scrollTop = el.scrollHeight;
  }
  function note() {
    const parts = [];
    if (following) parts.push('following');
    if (paused) parts.push('paused, ' + held.length + ' lines held');
    if (dropped) parts.push(dropped + ' lines dropped by the device to stay within its bounds');
    set('dlog-note', parts.join(' · '));
  }
  function subscribe(again = false) {
    if (!again) fresh = true;
    t.send('CMD', 'log_subscribe', [$('dlog-level').value], 'dlog-follow');
  }
  function recent(lines) {
    if (!fresh) return;
    fresh = false;
    $('dlog').replaceChildren();
    held = [];
    const was = paused;
    paused = false;
    addLines(lines);
    paused = was;
    note();
  }
  function follow(on) {
    following = on;
    $('dlog-follow').textContent = on ? 'Stop following' : 'Follow log';
    $('dlog-follow').setAttribute('aria-pressed', String(on));
    clearInterval(renew);
    if (on) {
      subscribe();
      renew = setInterval(() => subscribe(true), 60000); // the subscription lapses after 5 min unless renewed
    } else {
      t.send('CMD', 'log_unsubscribe', [], 'dlog-follow');
    }
    note();
  }
  t.on((k) => k === 'log/lines', (k, v) => { if (following && Array.isArray(v)) addLines(v.map(String)); });
  t.on((k) => k === 'log/recent', (k, v) => { if (following && Array.isArray(v)) recent(v.map(String)); });
  t.on((k) => k === 'log/subscribed', (k, v, m) => { if (following && fresh && v && !('log/recent' in m)) t.send('GET', 'log', [100]); });
  t.on((k) => k === 'log/dropped', (k, v) => { if (following) { dropped += Number(v) || 0; note(); } });
  $('dlog-follow').onclick = () => follow(!following);
  $('dlog-level').onchange = () => { if (following) subscribe(); };
  $('dlog-pause').onclick = () => {
    paused = !paused;
    $('dlog-pause').textContent = paused ? 'Resume' : 'Pause';
    $('dlog-pause').setAttribute('aria-pressed', String(paused));
    if (!paused) { const h = held; held = []; addLines(h); }
    note();
  };
  $('dlog-clear').onclick = () => { $('dlog').replaceChildren(); held = []; dropped = 0; note(); };

  // ---- WiFi scan list ----

  t.on((k) => k === 'wifi/scan', (k, v) => {
    const list = $('scan-list');
    list.replaceChildren();
    for (const n of Array.isArray(v) ? v : []) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'net';
      b.textContent = n.ssid + ' · ' + n.signal + ' %' + (n.secure ? ' · secured' : ' · open');
      b.style.setProperty('--signal', Math.max(0, Math.min(100, Number(n.signal) || 0)) + '%');
      b.onclick = () => { $('ssid').value = n.ssid; $('pass').focus(); };
      const li = document.createElement('li');
      li.append(b);
      list.append(li);
    }
    if (!list.childElementCount) list.append(Object.assign(document.createElement('li'), { textContent: 'no networks in range' }));
    list.hidden = false;
  });
  $('scan').onclick = () => t.send('GET', 'wifi_scan', [], 'scan');

  // ---- enrollment with a hub (CMD enroll) ----

  $('enroll-form').onsubmit = (ev) => {
    ev.preventDefault();
    const code = $('enroll-code').value.trim(), hub = $('enroll-hub').value.trim(), pin = $('enroll-pin').value.trim();
    const uri = code.startsWith('tether:');
    if (!code || (!uri && !hub)) {
      t.showError('enroll', code ? 'enter the hub\'s address (wss://HOST:PORT) beside the code, or paste the whole enrollment URI'
        : 'enter the code, or paste the whole enrollment URI');
      return;
    }
    const args = uri ? [code] : pin ? [code, hub, pin] : [code, hub];
    const where = uri ? 'the hub the code names' : hub;
    if (!confirm('Enroll this device with ' + where + '? It gets a certificate from that hub and restarts to call it home with it.')) return;
    if (t.send('CMD', 'enroll', args, 'enroll')) set('enroll-result', 'enrolling…');
  };
  t.onReply((from, m) => {
    if (from !== 'enroll') return;
    if ('info' in m) {
      set('enroll-result', String(m.info));
      t.clearError('enroll'); // at once: the device restarts, its state object may not come before
      $('enroll-code').value = ''; // spent
    } else {
      set('enroll-result', '');
    }
  });

  // ---- the device comes and goes ----

  t.onOnline((on, was) => {
    $('cfg-apply').disabled = !on;
    for (const name of files) $('cfg-' + name).readOnly = !(name in loaded);
    if (on && !was) {
      t.send('GET', 'sys');
      if (following) subscribe(); // a restarted device forgot the subscription
    }
  });
})();
