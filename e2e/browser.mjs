// The one Chromium launch every browser test uses: Debian's chromium (or
// CHROMIUM_PATH) through playwright-core, with the flags that work here
// (no sandbox as root, no background traffic to the internet, DNS for
// anything but localhost refused). See ../shared/TESTING.md.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage',
           '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
}

// Open url in page, logging in to the device first when it asks for its
// password: with TETHER_DEVICE_PASSWORD (the password tests give every
// device root), through its login form, as a person would. Whether it
// asks is found out beforehand with a request outside the page, so the
// page itself never loads a 401 (a console error). A page that asks for
// none (a hub's) just opens. With shot, the login form is saved there
// first, filled in.
export async function gotoDevice(page, url, password = process.env.TETHER_DEVICE_PASSWORD, shot = '') {
  // (The probe reads only the status: a certificate the page itself will
  // check is not checked here.)
  const probe = await page.request.get(url, { headers: { Accept: 'text/html' }, failOnStatusCode: false, ignoreHTTPSErrors: true });
  if (probe.status() !== 401 || !password) return page.goto(url);
  const u = new URL(url);
  await page.goto(new URL('/tether/login?next=' + encodeURIComponent(u.pathname + u.search), u).href);
  await logIn(page, password, shot);
  return null;
}

// Log in on the device's login form the page shows, as a person would:
// type the password, press Log in, wait for the page it returns to. With
// shot, the form is saved there, filled in, before it is sent.
export async function logIn(page, password = process.env.TETHER_DEVICE_PASSWORD, shot = '') {
  await page.getByLabel('Device password').fill(password);
  if (shot) await page.screenshot({ path: shot });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Log in' }).click()]);
}

// fail ends a script whose steps threw e, and its process: the page as it
// was is saved whole at shot, a line "FAIL[ at where]: <the error's first
// line> | <the page's errors>" goes to standard output (a test reading the
// lines stops at it), the error's stack to standard error, the browser is
// closed and the exit status is 1.
export async function fail(browser, page, shot, e, errors = [], where = '') {
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  const first = String(e?.message ?? e).split('\n')[0];
  console.log('FAIL' + (where ? ' at ' + where : '') + ': ' + first + (errors.length ? ' | ' + errors.join('; ') : ''));
  if (e?.stack) console.error(e.stack);
  await browser.close();
  process.exit(1);
}
