// Headless Chromium for the kit's tests of the HTML it writes (the class report, traces). It is
// the system's Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH), driven by playwright-core,
// which downloads no browser of its own. The page gets nothing from the network: any request
// other than file:, data: and about: (and, for a page a kit server serves, loopback) is refused
// and listed, so a test can say the page is self-contained.
//
// Without a browser a test is skipped with a message that says how to get one, except in CI
// (CI set), where it fails: a check that cannot run must not look like one that passed.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { TestContext } from 'vitest';
import { ms } from './support.js';

export type { Page } from 'playwright-core';

/** The flags known to work headless here: no sandbox (root), no GPU, and no background traffic. */
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumPath(): string | undefined {
  const candidates = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((file) => existsSync(file));
}

export interface OpenPage {
  page: Page;
  /** The requests the page tried to make to the network (refused): empty for a self-contained page. */
  network: string[];
}

/**
 * A new page in a fresh headless Chromium (its own empty profile), closed when the test ends.
 * No Chromium: the test is skipped, or fails in CI, saying how to install one.
 */
export async function openPage(context: TestContext, options: { loopback?: boolean } = {}): Promise<OpenPage> {
  const executable = chromiumPath();
  if (!executable) {
    const message = `no Chromium found (${process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist` : 'not at /usr/bin/chromium'}): install it (Debian, Ubuntu: apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable`;
    if (process.env.CI) throw new Error(`this browser check cannot run in CI: ${message}`);
    console.warn(`skipped "${context.task.name}": ${message}`);
    context.skip(message);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'switchboard-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: executable, headless: true, args: flags, timeout: ms(60_000) });
  context.onTestFinished(async () => {
    await browser.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  });
  const network: string[] = [];
  await browser.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(file|data|about|blob):/.test(url)) return route.continue();
    if (options.loopback && /^https?:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?\//.test(url)) return route.continue();
    network.push(url);
    return route.abort();
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  return { page, network };
}

/** Saves a PNG of the whole page as `folder/name.png` and returns its path. */
export async function screenshot(page: Page, folder: string, name: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
