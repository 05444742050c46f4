// Enrollment from the device's own page, in Chromium: log in with the
// device password, open "Enroll with a hub" on the System card; a code the
// hub does not know (typed with the hub's address and CA pin) is refused
// next to Enroll and nothing changes; the enrollment URI an operator made
// is taken: the result is shown, the device restarts and the page comes
// back to it with "Keep these settings?", which the test keeps. The Go
// test (internal/cli TestEnrollFromTheDevicePageInBrowser) then checks the
// device calls the hub home with its certificate. Fails on any page or
// console error, and when the page opens without the device password.
// Usage: node device-enroll.mjs DEVICE_URL URI BAD_CODE HUB PIN SHOT_PREFIX
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, uri, badCode, hub, pin, shot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
const errors = [];
page.on('pageerror', (e) => errors.push('page error: ' + String(e)));
page.on('console', (m) => { if (m.type() === 'error' && !/WebSocket/.test(m.text())) errors.push('console: ' + m.text()); }); // the restart drops the socket
page.on('dialog', (d) => d.accept());
const t = { timeout: 20000 };
const enabled = (id) => page.waitForFunction((id) => !document.getElementById(id).disabled, id, t);

try {
  if ((await gotoDevice(page, url)) !== null) throw new Error('the device page opened without its password');
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor(t);
  await enabled('enroll');
  await page.getByText('Enroll with a hub').click();

  await page.getByLabel('Code or enrollment URI').fill(badCode);
  await page.getByLabel('Hub address').fill(hub);
  await page.getByLabel('Hub CA pin').fill(pin);
  await page.getByRole('button', { name: 'Enroll', exact: true }).click();
  const refusal = page.locator('[data-err-for="enroll"]');
  await refusal.filter({ hasText: 'unknown code' }).waitFor(t);
  console.log('refused: ' + (await refusal.textContent()));

  await page.getByLabel('Hub address').fill('');
  await page.getByLabel('Hub CA pin').fill('');
  await page.getByLabel('Code or enrollment URI').fill(uri);
  await page.getByRole('button', { name: 'Enroll', exact: true }).click();
  const result = page.locator('#enroll-result').filter({ hasText: 'enrolled Device_1' });
  await result.waitFor(t);
  if (await refusal.isVisible()) throw new Error('the old refusal is still shown');
  console.log('result: ' + (await result.textContent()));
  await page.locator('section[aria-labelledby="h-sys"]').screenshot({ path: shot + '-enrolled.png' });

  // The device restarts with its new home; the page comes back to it and
  // asks to keep the change.
  await page.locator('#apply-bar').waitFor({ state: 'visible', ...t });
  await enabled('apply-keep');
  await page.getByRole('button', { name: 'Keep settings' }).click();
  await page.locator('#cfg-result').filter({ hasText: /^confirmed app\.json/ }).waitFor(t);
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('device enroll flow ok');
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
