// Drive a hub started with --auth in a real Chromium as a person would:
// the dashboard sends a visitor to the login form; a wrong token is
// refused; the page token logs in (a cookie); the device is listed online
// without the open-hub warning; its link opens the device's own page
// served through the hub (/d/<id>/), whose WebSocket works on the cookie
// alone; the fake-interface flow runs through the hub; then the device is
// stopped (SIGTERM to DEVICE_PID) and goes offline on its page and on the
// dashboard. Fails on any page or console error.
// Usage: node hub-dashboard.mjs DASHBOARD_URL SHOT_PREFIX DEVICE_ID DEVICE_PID PAGE_TOKEN
import { fail, launchChromium } from './browser.mjs';

const [url, shot, id, pid, token] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => {
  // the refused login answers 401 on purpose
  if (m.type() === 'error' && !/401/.test(m.text())) errors.push('console: ' + m.text());
});
const row = () => page.getByRole('row').filter({ has: page.getByRole('link', { name: id, exact: true }) });
try {
  await page.goto(url);
  await page.waitForURL('**/login**');
  await page.getByLabel('Page token').fill('not the token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Those credentials were not accepted.').waitFor({ timeout: 10000 });
  await page.getByLabel('Page token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();

  await row().getByText('online', { exact: true }).waitFor({ timeout: 15000 });
  if (await page.getByText('This hub is open').isVisible()) throw new Error('a hub with --auth shows the open warning');
  await page.screenshot({ path: shot + '-dashboard.png' });

  await page.getByRole('link', { name: id, exact: true }).click();
  await page.waitForURL('**/d/' + id + '/');
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: /start/i }).first().click({ timeout: 10000 });
  await page.getByText('running', { exact: true }).first().waitFor({ timeout: 10000 });
  const send = page.getByRole('button', { name: /send/i }).first();
  await send.locator('xpath=preceding::input[1]').last().fill('hello through the hub');
  await send.click();
  await page.getByText('HELLO THROUGH THE HUB').first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-device.png' });

  process.kill(Number(pid), 'SIGTERM');
  await page.getByText(/hub\/device\/connected"\s*:\s*false/).first().waitFor({ timeout: 15000 });
  await page.goto(url);
  await row().getByText('offline', { exact: true }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-offline.png' });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('hub dashboard flow ok');
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
