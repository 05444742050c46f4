// Repair a device in recovery from a real Chromium, as a person would: read
// why on the page, see network.json's WiFi password masked and show it on
// request, try an invalid app.json and see it refused with its line and
// column, save a good one, restart, and land on the app's own page (the
// demo app serves on the recovery page's port). Fails on any page error or
// unexpected console error.
// Usage (cwd e2e/, for playwright-core): node recovery.mjs URL SHOT_PREFIX BROKEN_JSON_FILE GOOD_JSON_FILE WIFI_PASSWORD
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { chromium } = require('playwright-core');
const { fail, gotoDevice } = await import(path.join(process.cwd(), 'browser.mjs'));

const [url, shot, brokenFile, goodFile, secret] = process.argv.slice(2);
const broken = readFileSync(brokenFile, 'utf8'), good = readFileSync(goodFile, 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage',
         '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => {
  // A refused save answers 422, and a restarting device refuses connections:
  // Chromium reports both as failed loads. Anything else is a bug.
  if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/.test(m.text())) {
    errors.push('console: ' + m.text());
  }
});
try {
  await gotoDevice(page, url); // logs in with TETHER_DEVICE_PASSWORD
  await page.getByText('unknown app "nosuchapp"').waitFor({ timeout: 10000 });
  const net = page.getByLabel('network.json');
  if ((await page.content()).includes(secret) || !(await net.inputValue()).includes('"********"')) {
    throw new Error('network.json is not masked on the page: ' + await net.inputValue());
  }
  await page.getByRole('button', { name: 'Show passwords' }).click();
  await page.waitForFunction((s) => document.getElementById('f-network.json').value.includes(s), secret, { timeout: 10000 });
  await page.getByRole('button', { name: 'Hide passwords' }).click();
  await page.waitForFunction(() => document.getElementById('f-network.json').value.includes('"********"'), null, { timeout: 10000 });
  const app = page.getByLabel('app.json');
  const form = page.locator('form', { has: app });

  await app.fill(broken);
  await form.getByRole('button', { name: 'Save app.json' }).click();
  await form.getByText(/app\.json:10:21: demo\.http\.port: /).waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot + '-refused.png', fullPage: true });

  await app.fill(good);
  await form.getByRole('button', { name: 'Save app.json' }).click();
  await form.getByText('saved app.json').waitFor({ timeout: 10000 });

  await page.getByRole('button', { name: 'Restart the device' }).click();
  await page.waitForFunction(() => !document.title.startsWith('Recovery'), null, { timeout: 30000 });
  await page.screenshot({ path: shot + '-app.png' });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('recovery flow ok: refused with its location, saved, restarted into', await page.title());
} catch (e) {
  await fail(browser, page, shot + '-failed.png', e, errors);
} finally {
  await browser.close();
}
