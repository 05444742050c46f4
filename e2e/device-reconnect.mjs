// The device page reconnects by itself: load it, wait until it is connected,
// print "connected" (the test then stops the device and starts it again),
// wait for the status and a banner to show the loss, why, with the controls
// off and without any alert box, then for the page to be connected again
// and working (the fake interface answers).
// Usage: node device-reconnect.mjs URL SCREENSHOT.png
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage();
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('dialog', d => { errors.push('dialog: ' + d.message()); d.dismiss(); });
const status = page.getByRole('status');
try {
  await gotoDevice(page, url);
  await status.filter({ hasText: /^connected$/ }).waitFor({ timeout: 10000 });
  console.log('connected');
  await status.filter({ hasText: /disconnected, retrying/ }).waitFor({ timeout: 20000 });
  await page.getByText(/device offline/i).waitFor({ timeout: 5000 });
  const banner = await page.locator('#presence').innerText();
  if (!/lost the device: connection closed \(1001/.test(banner)) throw new Error('the banner does not say why: ' + banner);
  for (const id of ['start', 'send', 'test', 'restart']) {
    if (!(await page.locator('#' + id).isDisabled())) throw new Error('#' + id + ' is on while the device is away');
  }
  console.log('saw the loss');
  await status.filter({ hasText: /^connected$/ }).waitFor({ timeout: 30000 });
  await page.getByRole('button', { name: /start/i }).first().click({ timeout: 10000 });
  const send = page.getByRole('button', { name: /send/i }).first();
  await send.locator('xpath=preceding::input[1]').last().fill('back again');
  await send.click();
  await page.getByText('BACK AGAIN').first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('reconnect ok');
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors);
}
