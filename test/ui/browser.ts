// Headless Debian Chromium driven by playwright-core for the Web UI test: never a Playwright
// browser download, always the distribution's binary that .ci/install-chromium.sh installs.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Throws the message CI and developers need when the browser is missing (the test fails, it does not skip). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The Web UI browser test needs Debian's Chromium at ${CHROMIUM_PATH}, which is missing.\n` +
        'Install it with `bash .ci/install-chromium.sh` (as root; .ci/run does this in CI), then re-run the test.',
    );
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // We run as root (no sandbox possible); containers often have a tiny /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/**
 * Waits for `locator` to be visible, reloading the page between attempts: the workflow list reads
 * the visibility store, which may trail the workflows by a moment.
 */
export async function waitWithReload(page: Page, locator: Locator, { attempts = 5, timeoutMs = 3000 } = {}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await locator.waitFor({ state: 'visible', timeout: timeoutMs });
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await page.reload();
    }
  }
}

/** Polls `url` until it answers 200: the dev server's frontend may answer before its UI does. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`The Temporal Web UI did not answer at ${url} within ${timeoutMs} ms (${last}).`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The iframe a User Metadata panel renders its markdown in, found by the panel's heading. */
export function markdownPanel(page: Page, heading: string): FrameLocator {
  return page
    .locator('div')
    .filter({ has: page.getByRole('heading', { name: heading, exact: true }) })
    .filter({ has: page.locator('iframe') })
    .last()
    .locator('iframe')
    .first()
    .contentFrame();
}
