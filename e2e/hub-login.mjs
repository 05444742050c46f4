// A hub with --auth in a real Chromium: the dashboard sends a visitor to the
// login form; a wrong token is refused; the page token logs in (a cookie);
// the device is listed online and its page through the hub works with the
// cookie alone (a browser cannot send an Authorization header on a
// WebSocket). Fails on any page error.
// Usage: node hub-login.mjs DASHBOARD_URL SHOT_PREFIX DEVICE_ID PAGE_TOKEN
import { chromium } from 'playwright-core';

const [url, shot, id, token] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage',
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
try {
  await page.goto(url);
  await page.waitForURL('**/login**');
  await page.getByLabel('Page token').fill('not the token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('That token was not accepted.').waitFor({ timeout: 10000 });

  await page.getByLabel('Page token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: id, exact: true }).waitFor({ timeout: 15000 });
  await page.getByText('online', { exact: true }).first().waitFor({ timeout: 15000 });
  if (await page.getByText('This hub is open').isVisible()) throw new Error('a hub with --auth shows the open warning');
  await page.screenshot({ path: shot + '-dashboard.png' });

  await page.getByRole('link', { name: id, exact: true }).click();
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: /start/i }).first().click({ timeout: 10000 });
  await page.getByText('running', { exact: true }).first().waitFor({ timeout: 10000 });
  const send = page.getByRole('button', { name: /send/i }).first();
  await send.locator('xpath=preceding::input[1]').last().fill('logged in');
  await send.click();
  await page.getByText('LOGGED IN').first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-device.png' });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('hub login flow ok');
} catch (e) {
  await page.screenshot({ path: shot + '-failed.png' }).catch(() => {});
  console.error(String(e), errors.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
