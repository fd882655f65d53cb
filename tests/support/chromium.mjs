// Debian's headless Chromium for the browser tests, with the flags that keep it on loopback in this sandbox
// (no background networking, no component updates).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches it, or fails with how to install it. */
export function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}; run \`make setup-browser\``);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
