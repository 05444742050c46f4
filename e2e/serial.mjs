// Drive the device page with serial drivers, as a person would: pick the
// serial port "uart" in the interface card, start it, see it open, send a
// line and read the far end's upper-cased answer; start "gone" (a port
// that is not there) and "held" (one another program holds) and read why
// they are not open; the drivers card lists each with its status; the
// fake interface still works, also when the page's last script comes late.
// Fails on any page or console error.
// Usage: node serial.mjs URL SCREENSHOT.png
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
const t = { timeout: 15000 };
let step = 'load';
// The page's scripts arrive slowly (a busy board): the last one comes
// well after the page's WebSocket has opened and the device has answered,
// and the page must still ask for the drivers and show them.
await page.route('**/appitems.js', async (route) => {
  await new Promise((r) => setTimeout(r, 1500));
  await route.continue();
});
try {
  await gotoDevice(page, url);
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor(t);
  const picker = page.getByRole('combobox', { name: 'Driver' });
  await picker.waitFor(t);
  const start = page.getByRole('button', { name: /start interface/i });
  const send = page.getByRole('button', { name: /^send$/i });
  const input = page.getByLabel('Text to send');

  step = 'uart';
  await picker.selectOption('uart');
  await page.getByRole('heading', { name: 'Interface uart' }).waitFor(t);
  await start.click();
  await page.getByText(/^open: .* at 115200 8N1$/).first().waitFor(t);
  await input.fill('hello from chromium');
  await send.click();
  await page.getByText('uart: HELLO FROM CHROMIUM').waitFor(t);

  step = 'gone and held';
  await picker.selectOption('gone');
  await start.click();
  await page.getByText(/^waiting: .*ttyGONE0 is not there \(unplugged\?\), retrying$/).first().waitFor(t);
  await picker.selectOption('held');
  await start.click();
  await page.getByText(/^error: .* is held by another program \(pid \d+, python3\), retrying$/).first().waitFor(t);

  step = 'drivers card';
  await page.getByRole('button', { name: /list drivers/i }).click();
  for (const [name, status] of [['uart', 'open'], ['gone', 'waiting'], ['held', 'error']]) {
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });
    await row.getByRole('cell', { name: status, exact: true }).waitFor(t);
    await row.getByRole('cell', { name: 'serial', exact: true }).waitFor(t);
  }

  step = 'fake interface';
  await picker.selectOption('fake_interface');
  await page.getByRole('heading', { name: 'Fake interface' }).waitFor(t);
  await start.click();
  await input.fill('still fake');
  await send.click();
  await page.getByText('fake_interface: STILL FAKE').waitFor(t);

  await picker.selectOption('uart');
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('serial page ok');
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors, step);
}
