import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewerPlugin } from '../../src/web/viewer-plugin.js';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import {
  appendCastEvents,
  createIdentity,
  endSession,
  recordQueries,
  recordSession,
  type CastEvent,
  type FixtureIdentity,
} from '../helpers/viewer-fixtures.js';

/**
 * The viewer in headless Chromium against an in-process gateway. The session evidence is
 * written through test/helpers/viewer-fixtures.ts; once the SSH front end records through
 * the real path, `recordSession` can be swapped for a real `ssh` session.
 */
let tg: TestGateway;
let base: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let reviewer: { identity: FixtureIdentity; token: string };
let sessionId: string;
let recordingPath: string;
const problems: string[] = [];

function recordingEvents(): CastEvent[] {
  const events: CastEvent[] = [
    [0.2, 'o', '$ '],
    [0.5, 'i', 'echo MARKER-TEXT-42\r'],
    [0.6, 'o', 'echo MARKER-TEXT-42\r\nMARKER-TEXT-42\r\n\x1b[32mGREEN-TEXT\x1b[0m\r\n$ '],
    [1.0, 'o', '<script>window.__xss=1</script>\r\n<img src=x onerror="window.__xss=2">\r\n$ '],
  ];
  for (let i = 0; i < 200; i++) events.push([2 + i * 0.2, 'o', `filler line ${i} ${'.'.repeat(60)}\r\n`]);
  events.push([45, 'o', '\x1b[2J\x1b[HLATE-SCREEN-TEXT\r\n']);
  events.push([45, 'r', '90x24']);
  for (let i = 0; i < 100; i++) events.push([45.5 + i * 0.03, 'o', `\x1b[5;1Hcounter ${i} ${'#'.repeat(70)}`]);
  events.push([49, 'm', 'late-check']);
  events.push([50, 'o', '\r\n$ exit\r\n']);
  return events;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS_DIR, `viewer-${name}.png`), fullPage: true });
}

async function terminalText(): Promise<string> {
  return (await page.locator('[data-testid=player] .ap-term').textContent()) ?? '';
}

beforeAll(async () => {
  tg = await startTestGateway({ webPlugins: [viewerPlugin({ segmentBytes: 4096 })] });
  const { host, port } = tg.address('web');
  base = `http://${host}:${port}`;
  const store = tg.gateway.store;
  reviewer = await createIdentity(store, tg.config, { name: 'reviewer', viewer: { sessions: 'all', queries: 'all', audit: true } });
  const operator = await createIdentity(store, tg.config, { name: 'operator' });
  const recorded = await recordSession(store, tg.config.recordings.dir, {
    identity: operator.identity,
    ticket: 'CHG-2001',
    startedAt: new Date(Date.now() - 120_000),
    endedAt: new Date(Date.now() - 60_000),
    events: recordingEvents(),
  });
  sessionId = recorded.id;
  recordingPath = recorded.recordingPath!;
  await recordQueries(store, 'ses_pg_browser', operator.identity, [
    { statement: 'select id, name from customers where id = $1', params: [{ oid: 23, format: 'text', value: '7' }] },
    { statement: 'select \'<img src=x onerror=window.__xss=3>\'' },
    { statement: 'select * from nope', status: 'error', errorMessage: 'relation "nope" does not exist' },
  ]);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400 && response.status() !== 401) problems.push(`${response.status()} ${response.url()}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tg?.stop();
});

describe('viewer in Chromium', () => {
  it('signs in with identity name and token', async () => {
    await page.goto(`${base}/sessions`);
    await page.waitForURL(/\/login\?next=/);
    await shot('login');
    await page.fill('input[name=identity]', 'reviewer');
    await page.fill('input[name=token]', 'cus_not-the-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('sign-in failed');
    await page.fill('input[name=token]', reviewer.token);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/sessions`);
    await expect.poll(() => page.locator('[data-testid=whoami]').textContent()).toBe('reviewer');
    const cookies = await browser.context.cookies(base);
    expect(cookies.find((c) => c.name === 'custos_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('lists and filters sessions', async () => {
    await expect.poll(() => page.locator('[data-testid=sessions] tbody tr').count()).toBe(1);
    await page.fill('form.filters input[name=ticket]', 'CHG-2001');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/ticket=CHG-2001/);
    await expect.poll(() => page.locator('[data-testid=sessions] tbody tr').count()).toBe(1);
    await shot('sessions');
  });

  it('opens the session, replays it with the marker text, renders recorded HTML inert, and seeks', async () => {
    await page.click(`[data-testid=sessions] a[href="/sessions/${sessionId}"]`);
    await page.waitForURL(`${base}/sessions/${sessionId}`);
    const evidence = page.locator('[data-testid=evidence]');
    await expect.poll(() => evidence.textContent()).toContain('CHG-2001');
    await expect.poll(() => evidence.textContent()).toContain('ssh-key:SHA256:fixture-operator');
    await expect.poll(() => page.locator('[data-testid=verify-0]').textContent(), { timeout: 20_000 }).toBe('verified');
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('MARKER-TEXT-42');
    await expect.poll(terminalText).toContain('<script>window.__xss=1</script>');
    expect(await terminalText()).toContain('<img src=x onerror="window.__xss=2">');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('[data-testid=player] script').count()).toBe(0);
    // Colours come from the player's theme (a player mounted before its element is in the
    // document renders every colour black).
    const green = await page.evaluate(() => {
      type El = { children: { length: number }; textContent: string | null };
      const g = globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<El> }; getComputedStyle(e: El): { color: string } };
      const leaf = [...g.document.querySelectorAll('[data-testid=player] .ap-term span')].find((el) => el.children.length === 0 && (el.textContent ?? '').includes('GREEN-TEXT'));
      return leaf ? g.getComputedStyle(leaf).color : 'not found';
    });
    expect(green).toBe('rgb(78, 191, 34)');
    await shot('session');

    // Seek near the end: that segment starts from a server-side terminal snapshot.
    await page.locator('[data-testid=markers] button', { hasText: 'late-check' }).click();
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LATE-SCREEN-TEXT');
    await expect.poll(terminalText).toMatch(/counter \d+/);
    expect(await terminalText()).not.toContain('MARKER-TEXT-42');
    await shot('session-seeked');

    // A speed change re-creates the player where it was.
    await page.selectOption('[data-testid=speed]', '4');
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LATE-SCREEN-TEXT');
  });

  it('downloads the raw .cast', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-cast]')]);
    const saved = join(ARTIFACTS_DIR, 'viewer-download.cast');
    await download.saveAs(saved);
    expect(readFileSync(saved)).toEqual(readFileSync(recordingPath));
  });

  it('shows queries with statements as text, and downloads the filtered CSV', async () => {
    await page.click('header nav a[href="/queries"]');
    await page.waitForURL(`${base}/queries`);
    await expect.poll(() => page.locator('[data-testid=queries] tbody tr').count()).toBe(3);
    const tableText = (await page.locator('[data-testid=queries]').textContent()) ?? '';
    expect(tableText).toContain("select '<img src=x onerror=window.__xss=3>'");
    expect(tableText).toContain('relation "nope" does not exist');
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    await shot('queries');

    await page.selectOption('form.filters select[name=status]', 'ok');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/status=ok/);
    await expect.poll(() => page.locator('[data-testid=queries] tbody tr').count()).toBe(2);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-csv]')]);
    const saved = join(ARTIFACTS_DIR, 'viewer-queries.csv');
    await download.saveAs(saved);
    const lines = readFileSync(saved, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,session_id,seq,identity,/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('select id, name from customers where id = $1');
    expect(lines.join('\n')).not.toContain('nope');
  });

  it('shows the audit history with the chain status', async () => {
    await page.click('header nav a[href="/audit"]');
    await page.waitForURL(`${base}/audit`);
    await expect.poll(() => page.locator('[data-testid=chain]').textContent(), { timeout: 20_000 }).toMatch(/Audit chain verified: \d+ events/);
    await expect.poll(() => page.locator('[data-testid=audit] tbody tr').count()).toBeGreaterThan(3);
    expect(await page.locator('[data-testid=audit]').textContent()).toContain('resource.create');
    await shot('audit');
    await page.selectOption('form.filters select[name=category]', 'viewer');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=audit]').textContent()).toContain('web.recording.download');
  });

  it('watches a live session as it is recorded', async () => {
    const operator = (await tg.gateway.store.resources.identityByName('operator'))!;
    const identity = { id: operator.id, name: operator.name, kind: operator.kind, owner: operator.owner, roles: operator.roles };
    const live = await recordSession(tg.gateway.store, tg.config.recordings.dir, {
      identity,
      state: 'live',
      events: [[0.1, 'o', 'LIVE-BACKLOG\r\n']],
    });
    await page.goto(`${base}/sessions/${live.id}`);
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LIVE-BACKLOG');
    appendCastEvents(live.recordingPath!, [[1.5, 'o', 'LIVE-NEW-LINE\r\n']]);
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LIVE-NEW-LINE');
    await shot('live');
    await endSession(tg.gateway.store, live.id, { identity }, live.recordingPath);
  });

  it('raised no script errors and no CSP violations', () => {
    expect(problems.filter((text) => !/status of 401/.test(text))).toEqual([]);
  });
});
