// tether device page, the app's own card: a process app announces its
// items and state keys, GET help (which app.js sends when the device comes)
// brings them, and this card shows each item as a control (a button, with a
// field for each argument by its type) and each state key as a live value
// (app.js fills every [data-key]). Items the page's other cards drive (the
// WiFi ones, the driver ones) are left to them; the driver cards hide when
// the device has no CMD hal. Built on window.tether, which app.js makes.
// Everything from the device is shown with textContent, never as HTML.
'use strict';

(() => {
  const t = window.tether;
  const $ = (id) => document.getElementById(id);
  // Items the page's fixed cards drive.
  const carded = new Set(['wifi', 'test_new_sta', 'store_new_sta', 'hal', 'start_interface',
    'stop_interface', 'send_message', 'help']);
  // Keys of messages that are tether's, not replies to the app's items.
  const tethers = /^(sys|log|wifi|hub|config|hal)\/|^help$/;
  let asked = 0; // when an app item was last sent: what comes within a while is shown
  let last = {}; // the last state object, for the values the card starts with
  let shown = null; // the last message listed under the card

  const el = (tag, props = {}, ...children) => {
    const e = Object.assign(document.createElement(tag), props);
    e.append(...children);
    return e;
  };

  // field makes an argument's input: a text field, a number, a checkbox.
  function field(a) {
    const label = a.name + (a.optional ? ' (optional)' : '');
    if (a.type === 'boolean') {
      const input = el('input', { type: 'checkbox' });
      return { node: el('label', { className: 'app-check' }, input, ' ' + label), value: () => input.checked };
    }
    const input = el('input', { placeholder: a.type === 'json' ? 'JSON' : a.type, autocomplete: 'off' });
    if (a.type === 'number' || a.type === 'integer') {
      input.type = 'number';
      input.step = a.type === 'integer' ? '1' : 'any';
    }
    if (a.doc) input.title = a.doc;
    const value = () => {
      const v = input.value.trim();
      if (v === '') return undefined;
      if (a.type === 'number' || a.type === 'integer') return Number(v);
      if (a.type === 'json') return JSON.parse(v);
      return input.value;
    };
    return { node: el('label', {}, label, input), value };
  }

  // control makes one item's form: its fields and its button, whose id
  // places the item's errors next to it.
  function control(it) {
    const fields = it.args.map(field);
    const id = 'app-' + it.kind + '-' + it.name.replace(/[^A-Za-z0-9_-]/g, '_');
    const button = el('button', { type: 'submit', id, className: it.kind === 'CMD' ? 'primary' : '' },
      (it.kind === 'GET' ? 'Get ' : '') + it.name.replace(/_/g, ' '));
    const form = el('form', { className: 'app-item', autocomplete: 'off' }, ...fields.map((f) => f.node),
      el('div', { className: 'row' }, button));
    if (it.doc) form.append(el('p', { className: 'app-doc' }, it.doc));
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const args = [];
      try {
        fields.forEach((f, i) => {
          const v = f.value();
          if (v === undefined && !it.args[i].optional) throw new Error('enter ' + it.args[i].name);
          args.push(v);
        });
      } catch (e) {
        t.showError(id, it.name + ': ' + e.message);
        return;
      }
      while (args.length && args[args.length - 1] === undefined) args.pop();
      asked = Date.now();
      t.send(it.kind, it.name, args.map((v) => (v === undefined ? null : v)), id);
    };
    return form;
  }

  // reply lists a message that came for the card's requests.
  function reply(m) {
    const list = $('app-replies');
    for (const [k, v] of Object.entries(m)) {
      const li = el('li', {}, k + ': ' + (typeof v === 'object' ? JSON.stringify(v) : String(v)));
      if (k === 'error') li.className = 'bad';
      list.prepend(li);
    }
    while (list.children.length > 30) list.lastChild.remove();
  }

  // help renders the card from GET help's answer and hides the driver
  // cards of a device without CMD hal; it asks for hal when there is one.
  function help(h) {
    const items = (h.items || []).filter((it) => it.app && !carded.has(it.name));
    const keys = h.state || [];
    $('h-app').textContent = 'App ' + h.app;
    $('app-state').replaceChildren(...keys.flatMap((k) => {
      const dd = el('dd', { className: 'mono', title: k.doc || '' }, k.key in last ? t.show(last[k.key]) : '–');
      dd.dataset.key = k.key;
      return [el('dt', { title: k.doc || '' }, k.key), dd];
    }));
    $('app-items').replaceChildren(...items.map(control));
    $('app-card').hidden = items.length === 0 && keys.length === 0;
    const hal = (h.items || []).some((it) => it.name === 'hal');
    for (const id of ['h-hal', 'h-fake']) $(id).closest('section').hidden = !hal;
    if (hal) t.send('CMD', 'hal');
  }

  t.on((k) => k === 'help', (k, v) => { if (v && typeof v === 'object') help(v); });
  // An app with a page folder of its own is served with it on the device's
  // port only; anywhere else (through a hub) this page stands in, and says so.
  t.on((k) => k === 'app/page', (k, v) => {
    const note = $('app-own-page');
    note.hidden = !v;
    note.textContent = v ? 'This app has a page of its own (' + v + '), served on the device\'s own port; ' +
      'here, through the hub, tether\'s page stands in for it, with this card made from the app\'s items.' : '';
    if (v) $('app-card').hidden = false;
  });
  t.on((k) => k === 'iam', (k, v, m) => { last = m; });
  // An older device, without GET help, has the demo's items.
  t.on((k) => k === 'error', (k, v) => { if (String(v).includes('unknown item "help"')) t.send('CMD', 'hal'); });
  t.on(() => true, (k, v, m) => {
    if (m === shown || 'iam' in m || Date.now() - asked > 5000) return;
    if (Object.keys(m).every((key) => tethers.test(key))) return;
    shown = m;
    reply(m);
  });
})();
