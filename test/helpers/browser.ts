import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { requireBinary } from './binaries.js';
import { REPO_ROOT } from './cli.js';
import { makeTempDir } from './temp-dir.js';

export const INSTALL_CHROMIUM = 'apt-get install -y chromium';

/** Screenshots and downloads of browser tests (gitignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/**
 * Headless Debian Chromium driven by playwright-core (no downloaded browser), with a fresh
 * profile, offline-friendly flags and no background traffic.
 */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = requireBinary('chromium', INSTALL_CHROMIUM, ['/usr/bin']);
  const profile = makeTempDir('cchr-');
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      profile.remove();
    },
  };
}
