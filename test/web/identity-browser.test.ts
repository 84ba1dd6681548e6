import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { waitFor } from '../helpers/wait.js';
import { createIdentity } from '../helpers/viewer-fixtures.js';

/**
 * The identity page in headless Chromium: a reviewer opens alice's story from her name in
 * the sessions list; the timeline shows the session alice ran with real ssh through the
 * gateway, each entry linking to its replay and audit event, the recorded command (markup an
 * operator typed) shown as text.
 */
const MARKUP = '<img src=y onerror=window.__xss=1>';
let f: SshFixture;
let base: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let reviewerToken: string;
let sessionId: string;
const problems: string[] = [];

beforeAll(async () => {
  f = await startSshFixture();
  const { host, port } = f.gateway.address('web');
  base = `http://${host}:${port}`;
  reviewerToken = (await createIdentity(f.gateway.gateway.store, f.gateway.config, { name: 'reviewer', viewer: { sessions: 'all', queries: 'all', audit: true } })).token;
  const ran = await f.run(f.keys.alice, `${f.login}@web1`, ['echo', `'${MARKUP}'`]);
  expect(ran.stdout.toString()).toBe(`${MARKUP}\n`);
  const session = await waitFor(async () => (await f.gateway.gateway.store.sessions.list({ identity: 'alice' })).find((s) => s.state === 'closed'), { what: "alice's session to close" });
  sessionId = session.id;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await f?.stop();
});

describe('identity page in Chromium', () => {
  it("opens from an identity name and shows the story with links to the evidence, recorded markup as text", async () => {
    await page.goto(`${base}/login?next=${encodeURIComponent('/sessions')}`);
    await page.fill('input[name=identity]', 'reviewer');
    await page.fill('input[name=token]', reviewerToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/sessions`);

    const row = page.locator('[data-testid=sessions] tbody tr', { hasText: 'alice' }).first();
    await row.locator('a.identity', { hasText: 'alice' }).click();
    await page.waitForURL(`${base}/identities/alice`);
    const timeline = page.locator('[data-testid=story] tbody tr');
    await expect.poll(() => timeline.count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'identity-story.png'), fullPage: true });
    expect(await page.locator('h1').textContent()).toBe('Story of alice');

    const kinds = await timeline.locator('td:nth-child(2) code').allTextContents();
    expect(kinds).toEqual(expect.arrayContaining(['session.start', 'channel', 'session.end']));
    const exec = timeline.filter({ has: page.locator('td:nth-child(2) code', { hasText: /^channel$/ }) }).first();
    // The exec command as recorded, shown as text: the markup is not an element.
    expect(await exec.locator('pre').textContent()).toContain(`exec echo '${MARKUP}'`);
    expect(await page.locator('[data-testid=story] img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();

    // Each session entry links to the replay; audit-backed entries to their audit event.
    const replay = exec.locator(`a[href="/sessions/${sessionId}"]`);
    expect(await replay.textContent()).toMatch(/^replay .+\.bytes$/);
    const start = timeline.filter({ has: page.locator('td:nth-child(2) code', { hasText: /^session\.start$/ }) }).first();
    const auditHrefs = await start.locator('a[href^="/audit?"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    expect(auditHrefs.length).toBeGreaterThan(0);
    const seqs = (await f.gateway.gateway.store.audit.list({ sessionId, type: 'session.start' })).map((event) => event.seq);
    expect(auditHrefs).toContain(`/audit?category=all&seq=${seqs[0]}`);

    await replay.click();
    await page.waitForURL(`${base}/sessions/${sessionId}`);
    expect(problems).toEqual([]);
  });
});
