// The hub's Rollouts page in a real Chromium: the dashboard links to it;
// the paused rollout is listed with why (its canary failed); its devices
// show their states and reasons; Resume sends the update on, and the
// rollout ends done; a device that committed says so on its own page
// (the System card's Update line); the device list says a device's
// refused update beside its version, with why in its title. Fails on any
// page or console error.
// Usage: node rollouts.mjs DASHBOARD_URL SHOT_PREFIX ROLLOUT_ID DEVICE FAILED_DEVICE
import { launchChromium } from './browser.mjs';

const [url, shot, id, device, failed] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
try {
  await page.goto(url);
  await page.getByRole('link', { name: 'Rollouts' }).click();
  await page.waitForURL('**/rollouts');
  const box = page.locator(`section.rollout[data-id="${id}"]`);
  await box.getByText('paused', { exact: true }).waitFor({ timeout: 15000 });
  await box.getByText(/the canary failed/).waitFor();
  await box.getByRole('button', { name: 'Devices' }).click();
  await box.getByText('no trusted keys', { exact: false }).first().waitFor({ timeout: 10000 });
  await box.locator('tr[data-device]').first().waitFor();
  await page.screenshot({ path: shot + '-paused.png' });
  await box.getByRole('button', { name: 'Resume' }).click();
  await box.getByText('done', { exact: true }).waitFor({ timeout: 60000 });
  const states = await box.locator('tr[data-device] td:nth-child(3)').allTextContents();
  console.log('device states:', states.join(' '));
  await page.screenshot({ path: shot + '-done.png' });

  // The device's own page, through the hub, says its update in its System card.
  await box.getByRole('link', { name: device, exact: true }).click();
  await page.waitForURL('**/d/' + device + '/');
  await page.locator('#sys-update').filter({ hasText: /^committed demo 3/ }).waitFor({ timeout: 15000 });
  console.log('device page:', await page.locator('#sys-update').textContent());

  // The device list: the failed device's update beside its version, why in the title.
  await page.goto(url);
  const cell = page.locator(`tr[data-device="${failed}"] td`).filter({ hasText: /update refused/ });
  await cell.waitFor({ timeout: 15000 });
  const title = await cell.getAttribute('title');
  console.log('device list:', await cell.textContent(), '|', title);
  if (!/no trusted keys/.test(title || '')) throw new Error(`the device list's ${failed} cell has title ${title}, want the refusal's reason`);
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('ok');
} finally {
  await browser.close();
}
