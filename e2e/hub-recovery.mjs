// Repair a device in recovery from anywhere, as an operator would, in a
// real Chromium through a real hub: the dashboard marks the device as in
// recovery with its reason; its link opens the recovery page through the
// hub (/d/<id>/), which asks the device for its files (and again once
// reloaded, the hub's connection already following the log); an invalid app.json
// is refused with its location, a good one is saved, Restart boots the
// device into the demo app, and the same tab becomes the device's page
// (with its link back to the dashboard); the dashboard then shows it online
// on the demo app, no longer in recovery. Fails on any page or console error.
// Usage: node hub-recovery.mjs DASHBOARD_URL SHOT_PREFIX DEVICE_ID BROKEN_JSON_FILE GOOD_JSON_FILE
import { readFileSync } from 'node:fs';
import { fail, launchChromium } from './browser.mjs';

const [url, shot, id, brokenFile, goodFile] = process.argv.slice(2);
const broken = readFileSync(brokenFile, 'utf8'), good = readFileSync(goodFile, 'utf8');
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
const row = () => page.getByRole('row').filter({ has: page.getByRole('link', { name: id, exact: true }) });
try {
  await page.goto(url);
  await row().locator('.status').filter({ hasText: /^recovery$/ }).waitFor({ timeout: 15000 });
  await row().getByText('unknown app "nosuchapp"').waitFor({ timeout: 5000 });
  await page.screenshot({ path: shot + '-dashboard.png' });

  await page.getByRole('link', { name: id, exact: true }).click();
  await page.waitForURL('**/d/' + id + '/');
  await page.getByRole('heading', { name: /^Recovery/ }).waitFor({ timeout: 10000 });
  await page.getByText('unknown app "nosuchapp"').first().waitFor({ timeout: 10000 });
  const app = page.getByLabel('app.json');
  const form = page.locator('form', { has: app });
  // the files come from the device over the hub
  await page.waitForFunction(() => document.getElementById('f-app.json').value.includes('nosuchapp'), null, { timeout: 10000 });
  await page.locator('#log').filter({ hasText: /\S/ }).waitFor({ timeout: 10000 });
  // and it follows the device's log live (CMD log_subscribe through the hub)
  await page.waitForFunction(() => liveSince > 0, null, { timeout: 10000 });
  // Reloaded (or opened by a second operator), the page finds the hub's
  // connection already following the log, whose answer is a renewal with
  // no recent lines: it must not wait on it, or nothing can be saved.
  await page.reload();
  await page.waitForFunction(() => document.getElementById('f-app.json').value.includes('nosuchapp'), null, { timeout: 10000 });
  await page.waitForFunction(() => liveSince > 0, null, { timeout: 10000 });

  await app.fill(broken);
  await form.getByRole('button', { name: 'Save app.json' }).click();
  await form.getByText(/app\.json:\d+:\d+: demo\.http\.port: /).waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-refused.png', fullPage: true });

  await app.fill(good);
  await form.getByRole('button', { name: 'Save app.json' }).click();
  await form.getByText('saved app.json').waitFor({ timeout: 10000 });
  // the device's log follows live through the hub
  await page.locator('#log').filter({ hasText: 'config file saved' }).waitFor({ timeout: 5000 });

  await page.getByRole('button', { name: 'Restart the device' }).click();
  await page.waitForFunction(() => !document.title.startsWith('Recovery'), null, { timeout: 30000 });
  await page.getByText('demo', { exact: true }).first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-app.png' });

  await page.getByRole('link', { name: /All devices/ }).click();
  await page.waitForURL(url);
  await row().getByText('online', { exact: true }).waitFor({ timeout: 10000 });
  if (await row().getByText('recovery').count()) throw new Error('the dashboard still shows recovery after the repair');
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('hub recovery flow ok');
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
