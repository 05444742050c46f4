// Run page.mjs against a device page served over https:// with a
// certificate the test made (self-signed or from a test CA): this launch of
// Chromium, and only this one, ignores certificate errors, so the page's
// own wss:// connection (derived from https:) is accepted too.
// Usage: node page-tls.mjs https://HOST:PORT/ SCREENSHOT.png [DEVICE_ID]
import { chromium } from 'playwright-core';

if (!process.argv[2]?.startsWith('https://')) {
  console.error('page-tls.mjs: want an https:// URL, got ' + process.argv[2]);
  process.exit(2);
}
const launch = chromium.launch.bind(chromium);
chromium.launch = (opts = {}) => launch({ ...opts, args: [...(opts.args || []), '--ignore-certificate-errors'] });
await import('./page.mjs');
