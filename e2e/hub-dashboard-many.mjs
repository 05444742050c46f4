// The hub's dashboard with hundreds of devices, in a real Chromium: it
// lists them all in natural order (idle-2 before idle-10); disk, WiFi
// signal and restarts have columns, a last failure shows under the
// status; it updates in
// place (a focused link keeps focus, a text selection stays, rows are the
// same elements a few polls later); search, the status filters and column
// sort work; an offline device is forgotten with its button (online ones
// have none); at 1280 px the table fits with room to spare, at 1024 px
// the page does not scroll sideways, at 390 px nothing does; dark mode follows
// prefers-color-scheme; /d/<unknown>/ is a 404 page. Screenshots at 1280
// and 390 px. Fails on any page or console error.
// Usage: node hub-dashboard-many.mjs DASHBOARD_URL SHOT_PREFIX TOTAL OFFLINE_ID RECOVERY_ID
import { fail, launchChromium } from './browser.mjs';

const [url, shot, totalArg, offlineID, recoveryID] = process.argv.slice(2);
const total = Number(totalArg);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => {
  if (m.type() === 'error' && !/status of 404/.test(m.text())) errors.push('console: ' + m.text());
});
page.on('dialog', d => d.accept());
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
const check = (ok, what) => { if (!ok) throw new Error(what); };
// the ids of the rows shown, in order
const shownIDs = () => page.$$eval('#devices tbody tr:not([hidden])', trs => trs.map(tr => tr.dataset.device));
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

try {
  await page.goto(url);
  await page.getByRole('status').filter({ hasText: new RegExp('of ' + total + ' devices online') }).waitFor({ timeout: 30000 });
  let ids = await shownIDs();
  check(ids.length === total, `${ids.length} rows shown, want ${total}`);
  check(ids.every((id, i) => i === 0 || natural.compare(ids[i - 1], id) <= 0), 'rows not in natural order: ' + ids.slice(0, 15).join(' '));
  check(ids.indexOf('idle-2') < ids.indexOf('idle-10') && ids.indexOf('idle-10') < ids.indexOf('idle-100'), 'idle-2, idle-10, idle-100 out of order');
  // At 1280 px the table fits, with room to spare (values that grow, a
  // load of 123.45, a device seen 59 min ago, must not make it scroll).
  // (table: the narrowest the table can be, every column that wraps
  // wrapped; room: the width of the box it is in)
  const fit = () => page.evaluate(() => {
    const table = document.querySelector('#devices');
    table.style.width = 'min-content';
    const least = table.offsetWidth;
    table.style.width = '';
    const box = table.parentElement, cs = getComputedStyle(box);
    const room = box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    // what reaches past the window, outermost first, to say in a failure
    const past = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && e.closest('.table-wrap') === null)
      .slice(0, 4).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right) + ' px');
    return { page: document.documentElement.scrollWidth, table: least, room, past: past.join(', ') };
  });
  let w = await fit();
  console.log(`at 1280 px: table at least ${w.table} px in ${w.room} px`);
  check(w.page <= 1280 && w.table + 40 <= w.room, `at 1280 px: page ${w.page} px wide, table ${w.table} px in ${w.room} px (want 40 px to spare)`);
  await page.screenshot({ path: shot + '-wide.png' });

  // system information in columns: disk, WiFi signal, restarts, and the
  // last failure under the status of a device that had one
  const api = await page.evaluate(async () => (await (await fetch('/api/devices')).json()));
  const failed = api.find((d) => d.online && !d.recovery && d.sys && d.sys['app/last_failure']);
  check(failed, 'no device online with a last failure in /api/devices');
  const cell = (id, col) => page.locator(`tr[data-device="${id}"] td[data-col="${col}"]`).innerText();
  const sysOf = failed.sys;
  check(await cell(failed.id, 'restarts') === String(sysOf['app/restarts']), failed.id + ' restarts: ' + await cell(failed.id, 'restarts'));
  check(await cell(failed.id, 'signal') === sysOf['wifi/signal'] + ' %', failed.id + ' WiFi: ' + await cell(failed.id, 'signal'));
  const disk = Math.round((1 - sysOf['disk/free'] / sysOf['disk/total']) * 100) + ' %';
  check(await cell(failed.id, 'disk') === disk, failed.id + ' disk: ' + await cell(failed.id, 'disk') + ', want ' + disk);
  const status = await cell(failed.id, 'status');
  check(/last failure .*ago: /.test(status) && status.includes(sysOf['app/last_failure']), failed.id + ' status: ' + status);

  // updated in place: focus, selection and the row elements survive polls
  const link = page.getByRole('link', { name: 'idle-5', exact: true });
  await link.focus();
  await page.evaluate(() => {
    const cell = document.querySelector('tr[data-device="idle-7"] td[data-col="app"]');
    const r = document.createRange();
    r.selectNodeContents(cell);
    getSelection().removeAllRanges();
    getSelection().addRange(r);
    window.markedRow = document.querySelector('tr[data-device="idle-9"]');
  });
  await sleep(2600);
  check(await page.evaluate(() => document.activeElement.textContent) === 'idle-5', 'focus lost after an update');
  check(await page.evaluate(() => getSelection().toString()) === 'idle', 'selection lost after an update: ' + await page.evaluate(() => getSelection().toString()));
  check(await page.evaluate(() => window.markedRow === document.querySelector('tr[data-device="idle-9"]') && window.markedRow.isConnected), 'row element replaced by an update');
  await page.evaluate(() => getSelection().removeAllRanges());

  // search
  await page.getByRole('searchbox', { name: 'Search devices' }).fill('idle-29');
  await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr:not([hidden])').length === 11);
  ids = await shownIDs();
  check(ids.join(' ') === 'idle-29 idle-290 idle-291 idle-292 idle-293 idle-294 idle-295 idle-296 idle-297 idle-298 idle-299', 'search idle-29: ' + ids.join(' '));
  await page.getByRole('searchbox', { name: 'Search devices' }).fill('');

  // filters
  const filter = (name) => page.getByRole('group', { name: 'Show' }).getByRole('button', { name: new RegExp('^' + name) });
  const statuses = () => page.$$eval('#devices tbody tr:not([hidden])', trs => [...new Set(trs.map(tr => tr.className))]);
  await filter('Offline').click();
  await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr:not([hidden])').length < 20);
  check((await statuses()).join() === 'offline', 'offline filter shows ' + (await statuses()).join());
  check((await shownIDs()).includes(offlineID), 'offline filter lacks ' + offlineID);
  await page.locator(`tr[data-device="${offlineID}"] td[data-col="status"]`).getByText(/closed by|connection lost/).waitFor();
  await filter('Recovery').click();
  await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr:not([hidden])').length === 1);
  check((await shownIDs())[0] === recoveryID, 'recovery filter: ' + (await shownIDs()).join());
  await page.locator(`tr[data-device="${recoveryID}"]`).getByText('unknown app "nosuchapp"').waitFor();
  await filter('Online').click();
  await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr:not([hidden])').length > 250);
  check((await statuses()).join() === 'online', 'online filter shows ' + (await statuses()).join());
  check(await page.locator('#devices tbody tr:not([hidden]) button.forget:visible').count() === 0, 'online devices have a Forget button');
  await filter('All').click();

  // column sort: uptime ascending, then descending, as the API says
  const byUptime = await page.evaluate(async () => {
    const ds = await (await fetch('/api/devices')).json();
    return ds.filter(d => d.sys && typeof d.sys.uptime === 'number');
  });
  const sortHeader = page.getByRole('columnheader', { name: 'Uptime' }).getByRole('button');
  for (const dir of [1, -1]) {
    await sortHeader.click();
    await page.waitForFunction((d) => document.querySelector('th[data-col="uptime"]').getAttribute('aria-sort') === (d > 0 ? 'ascending' : 'descending'), dir);
    const want = byUptime.slice().sort((a, b) => dir * (a.sys.uptime - b.sys.uptime) || natural.compare(a.id, b.id)).slice(0, 10).map(d => d.id);
    const got = (await shownIDs()).slice(0, 10);
    check(got.join() === want.join(), `uptime sort ${dir}: got ${got.join()} want ${want.join()}`);
  }
  check(new URL(page.url()).searchParams.get('sort') === 'uptime', 'the sort is not kept in the address');
  await page.getByRole('columnheader', { name: 'Device' }).getByRole('button').click();

  // forget an offline device
  await page.locator(`tr[data-device="${offlineID}"]`).getByRole('button', { name: 'Forget ' + offlineID }).click();
  await page.locator(`tr[data-device="${offlineID}"]`).waitFor({ state: 'detached' });
  const listed = await page.evaluate(async (id) => (await (await fetch('/api/devices')).json()).some(d => d.id === id), offlineID);
  check(!listed, offlineID + ' still in /api/devices after Forget');

  // a small laptop or a tablet: the page does not scroll sideways (the
  // table may, in its own box)
  await page.setViewportSize({ width: 1024, height: 768 });
  w = await fit();
  check(w.page <= 1024, `horizontal scroll at 1024 px: the page is ${w.page} px wide (${w.past})`);

  // a phone: no horizontal scroll, in light and dark
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(url);
  await page.getByRole('status').filter({ hasText: /devices online/ }).waitFor();
  await page.locator('tr[data-device="idle-0"]').waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, 'horizontal scroll at 390 px: scrollWidth ' + wide);
  await page.screenshot({ path: shot + '-phone.png' });
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg === 'rgb(15, 20, 27)', 'dark mode background: ' + bg);
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'horizontal scroll at 390 px in dark mode');
  await page.screenshot({ path: shot + '-phone-dark.png' });

  // an unknown device's page
  const resp = await page.goto(new URL('/d/no-such-device/', url).href);
  check(resp.status() === 404, '/d/no-such-device/: HTTP ' + resp.status());
  await page.getByText('No device no-such-device').first().waitFor();
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('hub dashboard with many devices ok');
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
