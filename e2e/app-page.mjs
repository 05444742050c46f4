// Drive the generated page of a process app (internal/web/assets/appitems.js)
// in a real Chromium, as a person would: the app's card appears from its
// announcement, clicking an item changes its state value live, an optional
// argument typed in is sent, a GET's reply shows under the card; the driver
// cards are hidden for an app without CMD hal; fail on any page or console
// error. Made for the shell counter example (CMD inc [by?], GET count,
// counter/value). With OWN_PAGE (the app's page folder), the card must say
// the app has a page of its own, which the hub does not serve; without, it
// must not. Usage: node app-page.mjs URL SCREENSHOT.png [OWN_PAGE]
import { fail, gotoDevice, launchChromium } from './browser.mjs';

const [url, shot, ownPage] = process.argv.slice(2);
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
const errors = [];
page.on('pageerror', e => errors.push('page error: ' + String(e)));
page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
try {
  await gotoDevice(page, url);
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 10000 });
  await page.getByRole('heading', { name: 'App counter' }).waitFor({ timeout: 10000 });
  const note = page.getByText('This app has a page of its own');
  if (ownPage) {
    await page.getByText('This app has a page of its own (' + ownPage + ')').waitFor({ timeout: 10000 });
  } else if (await note.isVisible()) {
    throw new Error('the card says the app has a page of its own');
  }
  const value = page.locator('dt', { hasText: /^counter\/value$/ }).locator('xpath=following-sibling::dd[1]');
  await page.waitForFunction((el) => /^\d+$/.test(el.textContent), await value.elementHandle(), { timeout: 10000 });
  const before = Number(await value.textContent());

  await page.getByRole('button', { name: 'inc', exact: true }).click();
  await page.waitForFunction(([el, want]) => el.textContent === want, [await value.elementHandle(), String(before + 1)], { timeout: 10000 });

  await page.getByLabel('by (optional)').fill('5');
  await page.getByRole('button', { name: 'inc', exact: true }).click();
  await page.waitForFunction(([el, want]) => el.textContent === want, [await value.elementHandle(), String(before + 6)], { timeout: 10000 });

  await page.getByRole('button', { name: 'Get count' }).click();
  await page.getByText('counter/now: ' + (before + 6)).waitFor({ timeout: 10000 });

  for (const name of ['Drivers', 'Fake interface']) {
    if (await page.getByRole('heading', { name, exact: true }).isVisible()) throw new Error(name + ' card shown for an app without hal');
  }
  await page.screenshot({ path: shot, fullPage: true });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('app page ok', before, '->', before + 6);
  await browser.close();
} catch (e) {
  await fail(browser, page, shot, e, errors);
}
