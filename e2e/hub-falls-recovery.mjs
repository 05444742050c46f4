// A device page open through a hub follows its device into recovery: the
// page is the demo's; the device's app.json was broken on disk behind its
// back, so Restart (which reads the config again) lands it in recovery, and
// the same tab becomes the recovery page served by the hub at /d/<id>/.
// Fails on any page error.
// Usage: node hub-falls-recovery.mjs DEVICE_PAGE_URL SHOT
import { launchChromium } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('dialog', d => d.accept());
try {
  await page.goto(url);
  await page.locator('#restart:not([disabled])').waitFor({ timeout: 15000 });
  await page.locator('#restart').click();
  await page.getByRole('heading', { name: /^Recovery/ }).waitFor({ timeout: 30000 });
  await page.getByText('unknown app "nosuchapp"').first().waitFor({ timeout: 10000 });
  await page.screenshot({ path: shot });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('page followed its device into recovery');
} finally {
  await browser.close();
}
