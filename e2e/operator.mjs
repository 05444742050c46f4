// The device page (internal/web/assets) as an operator uses it through a
// hub, in Chromium. Each mode prints its steps as lines, which the Go test
// (integration/operator_test.go) waits for to take its turn, and ends with
// "<mode> ok" or a line starting with FAIL.
//
// Usage: node operator.mjs MODE URL SCREENSHOT.png [ARGS...]
//   presence  URL through a hub. Send is off until the interface runs; a
//             long reply wraps, and a page opened after it shows the
//             interface running but not the reply; an error shows next to the control that
//             caused it and stays across other actions; the password field
//             is cleared after a save. Prints "ready"; the test stops the
//             device: a banner says it is offline, why and when it was last
//             seen, with the controls off and the status saying so; a fresh
//             page shows the hub's copy of its state as such, no old reply
//             and no error of a request it sent while the device was away
//             ("offline"). The test
//             starts it again: the banner goes, the state is asked afresh,
//             the old error is gone.
//   revert    URL through a hub, HOME_PORT, DEAD_PORT: loads the config,
//             points home at the dead port, applies; "Keep these
//             settings?" counts down, the device goes offline, then comes
//             back by itself with the change reported reverted.
//   livelog   URL through a hub: follows the device's log, asks for a WiFi
//             test; the line the device logs shows within a second of the
//             test's own reply; paused, the card holds the next lines
//             until Resume. A second page following too shows the recent
//             lines, and its level filters them.
//   maint     URL through a hub: the System card (uptime, load, memory,
//             disk, version, restarts, last failure, WiFi signal once a
//             network is joined), the scan list in the network form
//             (picking one fills the SSID), an invalid config edit refused
//             next to Apply with its place ("refused"), Restart app (the
//             device goes and comes back).
//   wsguard   URL with ?ws= naming another host: the page refuses it and
//             connects nowhere.
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [mode, url, shot, ...rest] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const errors = [];
page.on('pageerror', (e) => errors.push('page error: ' + String(e)));
page.on('dialog', (d) => d.accept());
const t = { timeout: 15000 };
const say = (s) => console.log(s);
const enabled = (id, on = true) => page.waitForFunction(([id, on]) => document.getElementById(id).disabled === !on, [id, on], t);

// inView reports whether the element with id is on screen, scrolled where the page is.
const inView = (id) => page.evaluate((id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight;
}, id);

// up waits until the page has its device: connected, no banner, controls on.
async function up() {
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor(t);
  await enabled('test');
  await page.locator('#presence').waitFor({ state: 'hidden', ...t });
}

const modes = {
  async presence() {
    await up();
    if (!(await page.locator('#send').isDisabled())) throw new Error('Send is on while the interface is stopped');
    await page.getByRole('button', { name: /start interface/i }).click();
    await enabled('send');
    const long = 'x'.repeat(400);
    await page.getByLabel('Text to send').fill(long);
    await page.getByRole('button', { name: /^send$/i }).click();
    const reply = page.locator('#received li').filter({ hasText: 'X'.repeat(400) });
    await reply.waitFor(t);
    if (await reply.evaluate((li) => li.scrollWidth > li.clientWidth + 1)) throw new Error('a long reply does not wrap');
    const later = await browser.newPage(); // a page opened after the send: the state, not the reply
    await later.goto(url);
    await later.locator('#fake-state').filter({ hasText: /^running$/ }).waitFor(t);
    await later.waitForTimeout(500);
    if (await later.locator('#received li').count()) throw new Error('a page opened later shows the reply as new: ' + await later.locator('#received').innerText());
    await later.close();

    await page.getByLabel(/SSID/).fill('nowhere');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const err = page.locator('[data-err-for="test"]');
    await err.filter({ hasText: /network not in range/ }).waitFor(t);
    if (!(await err.evaluate((e) => !!e.previousElementSibling && !!e.previousElementSibling.querySelector('#test')))) {
      throw new Error('the error is not next to the Test button');
    }
    await page.getByRole('button', { name: 'Refresh WiFi' }).click(); // another control's action: the error stays
    await page.waitForTimeout(500);
    if (!(await err.isVisible())) throw new Error('the error went with another control\'s action');

    await page.getByLabel(/SSID/).fill('tether-lab');
    await page.getByLabel(/password/i).fill('tether123');
    await page.getByRole('button', { name: /save on device/i }).click();
    await page.locator('[data-key="wifi/store/result"]').filter({ hasText: 'Success' }).waitFor({ timeout: 30000 });
    if ((await page.getByLabel(/password/i).inputValue()) !== '') throw new Error('the password stays in its field after the save');
    await page.locator('[data-key="wifi/net/stored"]').filter({ hasText: 'tether-lab' }).waitFor(t);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)); // reading the log, far down
    say('ready');

    await page.getByText(/device offline/i).waitFor({ state: 'visible', ...t });
    if (!(await inView('presence'))) throw new Error('the offline banner is off screen for a page scrolled down');
    await page.evaluate(() => window.scrollTo(0, 0));
    const banner = await page.locator('#presence').innerText();
    if (!/closed by the device|connection lost|not connected/.test(banner) || !/last seen \d/.test(banner)) {
      throw new Error('the banner lacks the reason or the time: ' + banner);
    }
    for (const id of ['send', 'start', 'stop', 'test', 'store', 'scan', 'refresh', 'cfg-load', 'restart', 'sys-refresh']) {
      if (!(await page.locator('#' + id).isDisabled())) throw new Error('#' + id + ' is on while the device is offline');
    }
    const badge = await page.locator('#conn').innerText();
    if (badge !== 'offline') throw new Error('the status says "' + badge + '" while the device is offline');
    await page.screenshot({ path: shot, fullPage: false });

    // A fresh page while the device is away: the hub's copy of its state,
    // said to be one, when it was last seen, and no old reply as if new.
    const fresh = await browser.newPage();
    fresh.on('pageerror', (e) => errors.push('fresh page error: ' + String(e)));
    await gotoDevice(fresh, url);
    await fresh.getByText(/device offline/i).waitFor({ state: 'visible', ...t });
    await fresh.locator('#presence').filter({ hasText: /hub's copy of its state, from \d/ }).waitFor(t);
    await fresh.locator('#presence').filter({ hasText: /last seen \d/ }).waitFor(t);
    await fresh.locator('[data-key="iam"]').first().filter({ hasText: 'Device_1' }).waitFor(t);
    if (await fresh.locator('#received li').count()) throw new Error('a fresh page shows an old reply: ' + await fresh.locator('#received').innerText());
    await fresh.waitForTimeout(1000); // what the hub answers to a request sent now would be in
    const said = await fresh.locator('.err:not([hidden])').allInnerTexts();
    if (said.length) throw new Error('a fresh page of a device that is away shows errors: ' + said.join(' | '));
    if ((await fresh.locator('#conn').innerText()) !== 'offline') throw new Error('a fresh page says "' + await fresh.locator('#conn').innerText() + '"');
    await fresh.close();

    await page.evaluate(() => { document.querySelector('[data-key="wifi/net/mac"]').textContent = '–'; });
    say('offline');

    await page.locator('#presence').waitFor({ state: 'hidden', timeout: 60000 });
    await page.waitForFunction(() => /:/.test(document.querySelector('[data-key="wifi/net/mac"]').textContent), null, t);
    await err.waitFor({ state: 'hidden', ...t });
    await enabled('test');
  },

  async revert() {
    const [home, dead] = rest;
    await up();
    await page.getByRole('button', { name: 'Load config' }).click();
    const app = page.getByLabel('app.json', { exact: true });
    await page.waitForFunction(() => document.getElementById('cfg-app.json').value.includes('"home"'), null, t);
    const text = await app.inputValue();
    const moved = text.replace(new RegExp('("home"[^}]*"port":\\s*)' + home), '$1' + dead);
    if (moved === text) throw new Error('no home port ' + home + ' in app.json: ' + text);
    await app.fill(moved);
    // The device is away for the confirm window only: on a loaded machine
    // the page may still be showing the bar when the banner has come and
    // gone, so the banner's showing is recorded as it happens.
    await page.evaluate(() => {
      const p = document.getElementById('presence');
      window.sawOffline = false;
      new MutationObserver(() => { if (!p.hidden && /device offline/i.test(p.textContent)) window.sawOffline = true; })
        .observe(p, { attributes: true, attributeFilter: ['hidden'] });
    });
    await page.getByRole('button', { name: 'Apply changes' }).click();
    await page.getByText(/keep these settings\?/i).waitFor(t);
    if (!(await inView('apply-bar'))) throw new Error('"Keep these settings?" is off screen where Apply was clicked');
    const ask = await page.locator('#apply-bar').innerText();
    if (!/app\.json is checked in \d+ s/.test(ask)) throw new Error('the bar does not count down: ' + ask);
    say('asked');
    await page.waitForFunction(() => window.sawOffline, null, t);
    say('offline');
    await page.locator('#presence').waitFor({ state: 'hidden', timeout: 60000 });
    await page.locator('#cfg-result').filter({ hasText: /^reverted app\.json at .*not on its hub/ }).waitFor(t);
    await page.locator('#notice').filter({ hasText: /reverted app\.json/ }).waitFor(t);
    await page.locator('#apply-bar').waitFor({ state: 'hidden', ...t });
    await page.waitForFunction((home) => document.getElementById('cfg-app.json').value.includes('"port": ' + home), home, t);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot, fullPage: false });
  },

  async livelog() {
    await up();
    await page.getByRole('button', { name: 'Follow log' }).click();
    await page.locator('#dlog div').first().waitFor(t); // the recent lines
    await page.evaluate(() => {
      window.seen = {};
      const look = () => {
        const now = performance.now();
        if (!window.seen.line && document.getElementById('dlog').textContent.includes('station test succeeded')) window.seen.line = now;
        if (!window.seen.reply && document.querySelector('[data-key="wifi/test/result"]').textContent === 'Success') window.seen.reply = now;
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel(/SSID/).fill('tether-guest');
    await page.getByLabel(/password/i).fill('guest1234');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.waitForFunction(() => window.seen.line && window.seen.reply, null, { timeout: 30000 });
    const { line, reply } = await page.evaluate(() => window.seen);
    const shown = await page.locator('#dlog div').filter({ hasText: 'station test succeeded' }).first().innerText();
    const logged = Date.parse(shown.split(' ')[0].replace(/^time=/, ''));
    const after = line - reply;
    say('the line showed ' + Math.round(after) + ' ms after the reply it precedes, ' + (Date.now() - logged) + ' ms after it was logged and read back');
    if (after > 1000) throw new Error('the log line came ' + Math.round(after) + ' ms after the reply');
    await page.screenshot({ path: shot, fullPage: false });

    // Paused, the card holds what comes and shows it on Resume.
    const tests = () => page.locator('#dlog div').filter({ hasText: 'station test succeeded' }).count();
    const shownBefore = await tests();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.locator('#dlog-note').filter({ hasText: /paused, [1-9]\d* lines held/ }).waitFor(t);
    await page.waitForTimeout(500);
    if (await tests() !== shownBefore) throw new Error('a paused log shows new lines');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.waitForFunction((n) => [...document.querySelectorAll('#dlog div')].filter((d) => d.textContent.includes('station test succeeded')).length > n, shownBefore, t);

    // A second page (or this one reloaded) finds the hub's connection
    // following the log already: it still shows the recent lines, and its
    // level applies to what it shows, old lines too.
    const other = await browser.newPage();
    other.on('pageerror', (e) => errors.push('second page error: ' + String(e)));
    await other.goto(url);
    await other.waitForFunction(() => !document.getElementById('dlog-follow').disabled, null, t);
    await other.getByRole('button', { name: 'Follow log' }).click();
    await other.locator('#dlog div').filter({ hasText: 'station test succeeded' }).first().waitFor(t);
    await other.getByLabel('Level').selectOption('warn');
    await other.waitForFunction(() => [...document.querySelectorAll('#dlog div')].every((d) => !/level=INFO/.test(d.textContent)), null, t);
    await other.close();
  },

  async maint() {
    await up();
    // system information, asked for when the device came
    await page.waitForFunction(() => document.getElementById('sys-uptime').textContent !== '–', null, t);
    const text = async (id) => (await page.locator('#' + id).innerText()).trim();
    const want = { 'sys-load': /^\d+\.\d\d \d+\.\d\d \d+\.\d\d$/, 'sys-mem': /free of \d/, 'sys-disk': /free of \d/,
      'sys-version': /^v0\.0\.0-tethertest$/, 'sys-restarts': /^0 \(demo\)$/, 'sys-failure': /^none$/, 'sys-signal': /^not known$/ };
    for (const [id, re] of Object.entries(want)) if (!re.test(await text(id))) throw new Error('#' + id + ' says "' + await text(id) + '"');

    // the scan list in the network form: a network picked fills the SSID
    await page.getByRole('button', { name: 'Scan networks' }).click();
    const net = page.locator('#scan-list button').filter({ hasText: /^tether-lab · 78 % · secured$/ });
    await net.waitFor(t);
    if (await page.locator('#scan-list button').count() !== 3) throw new Error('scan list: ' + await page.locator('#scan-list').innerText());
    await net.click();
    if ((await page.getByLabel(/SSID/).inputValue()) !== 'tether-lab') throw new Error('picking a network does not fill the SSID');
    await page.getByLabel(/password/i).fill('tether123');
    await page.getByRole('button', { name: /save on device/i }).click();
    await page.locator('[data-key="wifi/store/result"]').filter({ hasText: 'Success' }).waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.locator('#sys-signal').filter({ hasText: /^78 %$/ }).waitFor(t);

    // the config: an invalid edit is refused next to Apply, with its place
    await page.getByRole('button', { name: 'Load config' }).click();
    await page.waitForFunction(() => document.getElementById('cfg-app.json').value.includes('"http"'), null, t);
    const app = page.getByLabel('app.json', { exact: true });
    const cfg = await app.inputValue();
    const bad = cfg.replace(/("http"[^}]*"port":\s*)\d+/, '$1"eighty"');
    if (bad === cfg) throw new Error('no http port in app.json: ' + cfg);
    await app.fill(bad);
    await page.getByRole('button', { name: 'Apply changes' }).click();
    await page.locator('[data-err-for="cfg-apply"]').filter({ hasText: /app\.json:\d+:\d+: demo\.http\.port: .*"eighty"/ }).waitFor(t);
    if (await page.locator('#apply-bar').isVisible()) throw new Error('a refused change asks to be kept');
    say('refused');

    // restart: the device goes and comes back by itself (often within a
    // few milliseconds: the banner may come and go unseen)
    await page.getByRole('button', { name: 'Restart app' }).click();
    await page.waitForFunction(() => /hub\/device\/connected":false/.test(document.getElementById('log').textContent), null, t);
    await page.waitForFunction(() => /hub\/device\/connected": ?true[^]*"iam"/.test(document.getElementById('log').textContent.split('"hub/device/connected":false').pop()), null, { timeout: 60000 });
    await page.locator('#presence').waitFor({ state: 'hidden', ...t });
    await enabled('restart');
    await page.screenshot({ path: shot, fullPage: true });
  },

  async wsguard() {
    await page.locator('#general-err').filter({ hasText: /may only name this page's own host/ }).waitFor(t);
    await page.getByRole('status').filter({ hasText: /not connected/ }).waitFor(t);
    await page.waitForTimeout(1000);
  },
};

try {
  await gotoDevice(page, url);
  await modes[mode]();
  if (errors.length) throw new Error(errors.join('; '));
  say(mode + ' ok');
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors);
}
