// Change the device password on the device's own page in a real Chromium,
// as a person would, while another browser is logged in with the old one:
// follow the page's "Device password" link to the form; a wrong current
// password, a repetition that differs, and a new password too short (held
// by the form itself, then, with the form's checks off, by the device) are
// each refused with a message; the right one changes it, this browser
// stays logged in, the other one's page loses its connection and shows
// the login form, the old password is refused there and the new one logs
// it in.
// Usage: node device-password.mjs URL NEW_PASSWORD SCREENSHOT_PREFIX
// (the old password is TETHER_DEVICE_PASSWORD). Prints one line per step.
import { fail, gotoDevice, launchChromium, logIn } from './browser.mjs';

const [url, newPassword, shots] = process.argv.slice(2);
const old = process.env.TETHER_DEVICE_PASSWORD;
const browser = await launchChromium();
const me = await browser.newPage({ viewport: { width: 900, height: 800 } });
const other = await (await browser.newContext()).newPage({ viewport: { width: 900, height: 700 } });
const errors = [];
for (const [who, p] of [['me', me], ['other', other]]) {
  p.on('pageerror', e => errors.push(who + ': page error: ' + String(e)));
}

// submit fills the password form and sends it, waiting for the page it
// posts to.
async function submit(page, old, pw, again) {
  await page.getByLabel('Current password').fill(old);
  await page.getByLabel('New password (8 characters or more)').fill(pw);
  await page.getByLabel('New password again').fill(again);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Change password' }).click()]);
}

// alert is the refusal the page shows.
async function alert(page) {
  return (await page.getByRole('alert').textContent({ timeout: 10000 })).trim();
}

// connected waits for the device's page to say its command API is up.
async function connected(page) {
  await page.getByRole('status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 15000 });
}

try {
  for (const p of [me, other]) {
    await gotoDevice(p, url, old);
    await connected(p);
  }
  console.log('both logged in');

  await Promise.all([me.waitForNavigation(), me.getByRole('link', { name: 'Device password' }).click()]);
  await me.getByRole('heading', { name: 'Change the password of Device_1' }).waitFor({ timeout: 10000 });
  console.log('form reached from the page');

  await submit(me, 'not the password', newPassword, newPassword);
  console.log('wrong current: ' + await alert(me));
  await submit(me, old, newPassword, newPassword + 'x');
  console.log('differ: ' + await alert(me));

  // Too short: the form itself holds it (minlength) and posts nothing.
  await me.getByLabel('Current password').fill(old);
  await me.getByLabel('New password (8 characters or more)').fill('short');
  await me.getByLabel('New password again').fill('short');
  await me.getByRole('button', { name: 'Change password' }).click();
  const held = await me.getByLabel('New password (8 characters or more)').evaluate(e => e.validity.tooShort && !e.form.checkValidity());
  console.log('too short held by the form: ' + held);
  // With the form's own checks off, the device refuses it too.
  await me.locator('form[action$="password"]').evaluate(f => { f.noValidate = true; });
  await Promise.all([me.waitForNavigation(), me.getByRole('button', { name: 'Change password' }).click()]);
  console.log('too short: ' + await alert(me));

  await submit(me, old, newPassword, newPassword);
  console.log('changed: ' + (await me.getByRole('status').textContent({ timeout: 10000 })).trim());
  await me.screenshot({ path: shots + '-changed.png' });
  await Promise.all([me.waitForNavigation(), me.getByRole('link', { name: "Go to the device's page" }).click()]);
  await connected(me);
  console.log('this browser still logged in');

  // The other browser's login ended with the old password: its page,
  // whose connection the device closed, shows the login form by itself.
  await other.getByRole('heading', { name: 'Log in to Device_1' }).waitFor({ timeout: 10000 });
  console.log('other browser asked to log in again');
  await logIn(other, old);
  console.log('old password: ' + await alert(other));
  await logIn(other, newPassword);
  await connected(other);
  console.log('new password logs in');
  await other.screenshot({ path: shots + '-other.png', fullPage: false });
  if (errors.length) throw new Error(errors.join('; '));
  console.log('device password flow ok');
  await browser.close();
} catch (e) {
  await fail(browser, me, shots + '-fail.png', e, errors);
}
