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
