// Access control and enrollment in a real Chromium on a hub with users:
// alice (view on Device_1) logs in with her name and password and sees
// Device_1 alone, and no enrollment link; she logs out; ops (admin on
// every device) logs in, follows "Enroll a device", makes a code for
// Device_9 and is shown it as text, as the command and as a QR code.
// Fails on any page or console error.
// Usage: node hub-access.mjs DASHBOARD_URL SHOT_PREFIX
import { fail, launchChromium } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, ignoreHTTPSErrors: true }); // the test's own CA
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });

async function login(user, password) {
  await page.goto(url);
  await page.waitForURL('**/login**');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(url);
}

try {
  await login('alice', 'alice-password');
  await page.getByRole('link', { name: 'Device_1', exact: true }).waitFor({ timeout: 15000 });
  await page.waitForTimeout(1500); // two refreshes of the list
  const links = await page.locator('#devices a[href^="/d/"]').allTextContents();
  if (links.join(',') !== 'Device_1') throw new Error('alice sees ' + links.join(','));
  if (await page.getByRole('link', { name: 'Enroll a device' }).isVisible()) throw new Error('alice is shown the enrollment link');
  await page.screenshot({ path: shot + '-alice.png' });
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/login');

  await login('ops', 'ops-password');
  await page.getByRole('link', { name: 'Device_2', exact: true }).waitFor({ timeout: 15000 });
  await page.getByRole('link', { name: 'Enroll a device' }).click();
  await page.waitForURL('**/enroll');
  await page.getByLabel(/Device id/).fill('Device_9');
  await page.getByRole('button', { name: 'Make a code' }).click();
  await page.locator('#result').waitFor({ state: 'visible', timeout: 10000 });
  const code = await page.locator('#code').textContent();
  if (!/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(code)) throw new Error('code shown: ' + code);
  const command = await page.locator('#command').textContent();
  if (!command.includes('tether device enroll') || !command.includes('tether://enroll?')) throw new Error('command shown: ' + command);
  const qr = await page.locator('#qr').evaluate(img => img.complete && img.naturalWidth > 100);
  if (!qr) throw new Error('the QR code did not load');
  await page.screenshot({ path: shot + '-enroll.png' });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('hub access flow ok ' + code);
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
