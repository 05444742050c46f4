// Drive the device page (internal/web/assets) in a real Chromium, as a person
// would: wait for the device id and the connection, start the fake
// interface, send text, read the upper-cased reply; send markup and check it
// shows as text and never runs; fail on any page or console error.
// Elements are found by what a person sees (text, roles), not by ids.
// Usage: node page.mjs URL SCREENSHOT.png [DEVICE_ID]
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, shot, id] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const errors = [];
const dialogs = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
page.on('dialog', d => { dialogs.push(d.type() + ': ' + d.message()); d.accept(); });
try {
  await gotoDevice(page, url);
  if (id) await page.getByText(id).first().waitFor({ timeout: 10000 });
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 10000 });
  await page.getByText('tether-Device_1').first().waitFor({ timeout: 10000 }); // GET wifi answered

  await page.getByRole('button', { name: /start/i }).first().click({ timeout: 10000 });
  await page.getByText('running', { exact: true }).first().waitFor({ timeout: 10000 });
  const send = page.getByRole('button', { name: /send/i }).first();
  const input = send.locator('xpath=preceding::input[1] | preceding::textarea[1]').last();
  await input.fill('hello from chromium');
  await send.click();
  await page.getByText('HELLO FROM CHROMIUM').first().waitFor({ timeout: 10000 });

  // Device-supplied text is shown as text: markup comes back upper-cased and inert.
  await input.fill('<img src=x onerror="window.pwned=1"><b>bold</b>');
  await send.click();
  await page.getByText('<IMG SRC=X ONERROR="WINDOW.PWNED=1"><B>BOLD</B>').first().waitFor({ timeout: 10000 });
  if (await page.evaluate(() => window.pwned !== undefined || document.querySelector('#received b, #received img') !== null)) {
    throw new Error('device text was rendered as HTML');
  }

  // The drivers card lists the fake interface (CMD hal).
  await page.getByRole('button', { name: /list drivers/i }).click();
  await page.getByRole('cell', { name: 'fake_interface' }).waitFor({ timeout: 10000 });

  // Save on Device asks first (confirm), then reports the result.
  await page.getByLabel(/SSID/).fill('tether-lab');
  await page.getByLabel(/password/i).fill('tether123');
  await page.getByRole('button', { name: /save on device/i }).click();
  await page.getByText('Success').first().waitFor({ timeout: 20000 });
  if (!dialogs.some(d => d.startsWith('confirm: Save network "tether-lab"'))) {
    throw new Error('Save on Device did not ask for confirmation first: ' + JSON.stringify(dialogs));
  }
  await input.fill('hello again');
  await send.click();
  await page.getByText('HELLO AGAIN').first().waitFor({ timeout: 10000 });

  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('browser flow ok');
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors);
}
