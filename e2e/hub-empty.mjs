// The dashboard of a hub no device has called yet: it says so, and names
// the URL devices call home to, with the device endpoint's real port.
// Prints "devices call URL". Fails on any page or console error.
// Usage: node hub-empty.mjs DASHBOARD_URL
import { launchChromium } from './browser.mjs';

const [url] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage();
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
try {
  await page.goto(url);
  await page.locator('#empty').waitFor({ state: 'visible', timeout: 10000 });
  await page.waitForFunction(() => !document.getElementById('devurl').textContent.includes('this-hub'), null, { timeout: 10000 });
  console.log('devices call ' + await page.locator('#devurl').textContent());
  if (errors.length) throw new Error(errors.join('\n'));
} finally {
  await browser.close();
}
