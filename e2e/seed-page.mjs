// Drive a seed-style page (a device root's www/page.htm served through
// demo.routes) in a real Chromium on a device that asks for its password:
// log in on the device's login form, land on the seed's page, whose own
// WebSocket to the command API carries the session cookie; start the
// fake interface and read the upper-cased reply. Fails on any page or
// console error.
// Usage: node seed-page.mjs URL SCREENSHOT.png [LOGIN_SCREENSHOT.png]
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, shot, loginShot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
try {
  await gotoDevice(page, url, process.env.TETHER_DEVICE_PASSWORD, loginShot);
  if (new URL(page.url()).pathname !== new URL(url).pathname) throw new Error('after the login the page is ' + page.url());
  await page.getByText('Device_1').waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByText('running', { exact: true }).waitFor({ timeout: 10000 });
  await page.getByLabel('Message').fill('hello seed page');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByText('HELLO SEED PAGE').waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('seed page flow ok');
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors);
}
