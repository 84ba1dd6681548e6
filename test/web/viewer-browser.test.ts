import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOperation } from '../../src/admin/operations.js';
import { viewerPlugin } from '../../src/web/viewer-plugin.js';
import { INSTALL_SSH_CLIENT, requireBinary } from '../helpers/binaries.js';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import type { TestGateway } from '../helpers/gateway.js';
import { INSTALL_PG_CLIENTS } from '../helpers/pg-gateway.js';
import { startPostgres, type EphemeralPostgres } from '../helpers/postgres.js';
import { startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { openSshShell, type SshShell } from '../helpers/ssh-shell.js';
import { waitFor } from '../helpers/wait.js';
import { createIdentity, recordSession, type CastEvent, type FixtureIdentity } from '../helpers/viewer-fixtures.js';

/**
 * The viewer in headless Chromium against an in-process gateway with its SSH listener on.
 * The main session is recorded through the real SSH path: OpenSSH `ssh` in a pty, through
 * the gateway, to an OpenSSH sshd target, watched live by the reviewer while it runs, then
 * replayed. The query rows are statements real `psql` ran through the gateway's PostgreSQL
 * front end. Evidence the real path cannot easily produce (recorded `<script>` and
 * `<img onerror>`, a long recording with a late screen) is written by
 * test/helpers/viewer-fixtures.ts the way the proxies write it.
 */
let f: SshFixture;
let database: EphemeralPostgres;
let tg: TestGateway;
let base: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let reviewer: { identity: FixtureIdentity; token: string };
let fixtureSessionId: string;
/** The session recorded through the real SSH path. */
let sshSessionId: string;
/** Printed by the shell only: the command typed reads `MARKER-$((6*7))-…`. */
const marker = `MARKER-42-${randomUUID().slice(0, 8)}`;
const markerCommand = `echo ${marker.replace('42', '$((6*7))')}`;
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

async function sessionRows(): Promise<number> {
  return page.locator('[data-testid=sessions] tbody tr').count();
}

/** `ssh-key:SHA256:…`, as ssh-keygen fingerprints the public key. */
function credentialOf(publicPath: string): string {
  const listed = spawnSync(requireBinary('ssh-keygen', INSTALL_SSH_CLIENT), ['-l', '-E', 'sha256', '-f', publicPath], { encoding: 'utf8' });
  const fingerprint = /SHA256:\S+/.exec(listed.stdout)?.[0];
  if (!fingerprint) throw new Error(`ssh-keygen -l failed: ${listed.stderr}`);
  return `ssh-key:${fingerprint}`;
}

beforeAll(async () => {
  f = await startSshFixture({ webPlugins: [viewerPlugin({ segmentBytes: 4096 })], settings: { listen: { ssh: '127.0.0.1:0', postgres: '127.0.0.1:0' } } });
  tg = f.gateway;
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
  fixtureSessionId = recorded.id;
  await runStatementsThroughGateway();
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
  await f?.stop();
  await database?.stop();
});

/** The identity `dba` runs three statements with psql through the gateway (the last one fails). */
async function runStatementsThroughGateway(): Promise<void> {
  const psql = requireBinary('psql', INSTALL_PG_CLIENTS);
  database = await startPostgres({ users: [{ name: 'app', auth: 'trust' }], databases: ['orders'] });
  const admin = await database.admin('orders');
  await admin.query(`create table customers (id int primary key, name text); insert into customers values (7, 'Ada'); grant select on customers to app`);
  await admin.end();
  await f.apply(`
kind: target
name: orders
spec: { protocol: postgres, address: "127.0.0.1:${database.port}" }
---
kind: role
name: dba
spec: { targets: { name: orders }, dbUsers: [app] }
---
kind: identity
name: dba
spec: { kind: human, roles: [dba] }
`);
  const context = { store: tg.gateway.store, actor: 'test', config: tg.config };
  const { token } = (await runOperation(context, 'token.create', { identity: 'dba', ttl: '1h' })) as { token: string };
  const statements = ['select id, name from customers where id = 7', "select '<img src=x onerror=window.__xss=3>'", 'select * from nope'];
  const conninfo = `host=127.0.0.1 port=${tg.address('postgres').port} user=dba dbname=orders sslmode=require`;
  const child = spawn(psql, ['-X', conninfo, ...statements.flatMap((statement) => ['-c', statement])], { env: { ...process.env, PGPASSWORD: token } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  expect(output).toContain('Ada');
  expect(output).toContain('relation "nope" does not exist');
  await waitFor(async () => Object.values(await tg.gateway.store.queries.count({ identity: 'dba' })).reduce((a, b) => a + b, 0) === 3, {
    what: 'the three statements to be in the query log',
  });
}

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

  it('watches a real SSH session live while the operator works through the gateway', async () => {
    let shell: SshShell | null = await openSshShell(f, { key: f.keys.alice, user: `${f.login}@web1`, cols: 100, rows: 30 });
    try {
      await shell.run('echo BACKLOG-$((1+1))', 'BACKLOG-2');
      // The reviewer finds the running session in the list and opens it: the live player.
      await page.goto(`${base}/sessions?state=live`);
      await expect.poll(sessionRows).toBe(1);
      const row = page.locator('[data-testid=sessions] tbody tr').first();
      expect(await row.textContent()).toMatch(/alice.*web1.*ssh.*live/);
      const href = await row.locator('a[href^="/sessions/"]').getAttribute('href');
      sshSessionId = href!.replace('/sessions/', '');
      await row.locator('a[href^="/sessions/"]').click();
      await page.waitForURL(`${base}/sessions/${sshSessionId}`);
      await expect.poll(() => page.locator('.live-badge').count()).toBe(1);
      await expect.poll(terminalText, { timeout: 20_000 }).toContain('BACKLOG-2');
      await expect.poll(() => page.locator('[data-testid=verify-0]').textContent(), { timeout: 20_000 }).toBe('live');

      // Bytes typed now reach the reviewer's screen while the session runs.
      await shell.run('seq -f "line %g" 1 600', 'line 600');
      await shell.run(markerCommand, marker);
      await expect.poll(terminalText, { timeout: 20_000 }).toContain(marker);
      await shot('live');
      shell.pty.resize(120, 40);
      // ssh sends the window change when it gets to it: type on once the gateway recorded it.
      const live = await tg.gateway.store.sessions.get(sshSessionId);
      await waitFor(() => readFileSync(live!.recordingPath!, 'utf8').includes('"r", "120x40"'), { what: 'the resize in the recording' });
      await shell.run('echo SIZE-$(stty size | tr " " x)', 'SIZE-40x120');
      await expect.poll(terminalText, { timeout: 20_000 }).toContain('SIZE-40x120');
      await shell.run('clear; echo LATE-$((2+3))', 'LATE-5');
      expect(await shell.exit()).toBe(0);
      shell = null;
    } finally {
      shell?.pty.kill();
    }
    await waitFor(async () => (await tg.gateway.store.sessions.get(sshSessionId))?.state === 'closed', { what: 'the ssh session to close' });
  });

  it('lists and filters sessions: the SSH session by identity and state, the fixture by ticket', async () => {
    await page.goto(`${base}/sessions`);
    await expect.poll(sessionRows).toBe(3); // SSH, PostgreSQL, fixture
    await page.fill('form.filters input[name=identity]', 'alice');
    await page.selectOption('form.filters select[name=state]', 'closed');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/identity=alice/);
    await expect.poll(sessionRows).toBe(1);
    expect(await page.locator(`[data-testid=sessions] a[href="/sessions/${sshSessionId}"]`).count()).toBe(1);
    await shot('sessions');
    await page.goto(`${base}/sessions?ticket=CHG-2001`);
    await expect.poll(sessionRows).toBe(1);
    expect(await page.locator(`[data-testid=sessions] a[href="/sessions/${fixtureSessionId}"]`).count()).toBe(1);
  });

  it('replays the SSH session: evidence tags, digest verified, the marker rendered by the player, seeking by markers', async () => {
    await page.goto(`${base}/sessions?identity=alice`);
    await expect.poll(sessionRows).toBe(1);
    await page.click(`[data-testid=sessions] a[href="/sessions/${sshSessionId}"]`);
    await page.waitForURL(`${base}/sessions/${sshSessionId}`);
    const evidence = page.locator('[data-testid=evidence]');
    await expect.poll(() => evidence.textContent()).toContain(credentialOf(f.keys.alice.publicPath));
    const labels = await evidence.locator('dl.facts dt').allTextContents();
    const values = await evidence.locator('dl.facts dd').allTextContents();
    expect(Object.fromEntries(labels.map((label, i) => [label, values[i]]))).toMatchObject({
      Identity: 'alice',
      Kind: 'human',
      Credential: credentialOf(f.keys.alice.publicPath),
      Protocol: 'ssh',
      Target: `web1 (127.0.0.1:${f.sshd.port})`,
      Login: f.login,
      'Client address': '127.0.0.1',
      'Gateway node': 'test-node',
      'End reason': 'the client disconnected',
    });
    // One recording (the session's main one is its shell channel), sealed and unchanged.
    expect(await page.locator('.picker .recording').count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid=verify-0]').textContent(), { timeout: 20_000 }).toBe('verified');
    expect(await page.locator('[data-testid=verify-main]').count()).toBe(0);

    const markers = page.locator('[data-testid=markers] button');
    const markerLabels = async () => (await markers.allTextContents()).map((label) => label.replace(/^\d\d:\d\d\s+/, ''));
    await expect.poll(markerLabels, { timeout: 20_000 }).toEqual([
      '$ echo BACKLOG-$((1+1))',
      '$ seq -f "line %g" 1 600',
      `$ ${markerCommand}`,
      'resize 120x40',
      '$ echo SIZE-$(stty size | tr " " x)',
      '$ clear; echo LATE-$((2+3))',
      '$ exit',
      'exit status 0',
    ]);
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('custos: this session is recorded');
    // To the end: the screen was cleared after the marker.
    await markers.filter({ hasText: 'exit status 0' }).click();
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LATE-5');
    expect(await terminalText()).not.toContain(marker);
    // Back to the resize (in a later segment, started from a snapshot): the marker is on screen.
    await markers.filter({ hasText: 'resize 120x40' }).click();
    await expect.poll(terminalText, { timeout: 20_000 }).toContain(marker);
    expect(await terminalText()).not.toContain('LATE-5');
    await shot('session');
    // Just before `clear`: the target saw the resized terminal.
    await markers.filter({ hasText: '$ clear' }).click();
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('SIZE-40x120');
    expect(await page.locator('.player-bar').textContent()).toMatch(/[2-9] segment\(s\)/);
  });

  it('downloads the raw .cast: the file the recorder wrote, with the evidence tags in its header', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-cast]')]);
    expect(download.suggestedFilename()).toBe(`${sshSessionId}-0.cast`);
    const saved = join(ARTIFACTS_DIR, 'viewer-download.cast');
    await download.saveAs(saved);
    const detail = await tg.gateway.store.sessions.detail(sshSessionId);
    const onDisk = detail!.channels[0]!.recordingPath!;
    const day = detail!.session.startedAt.toISOString().slice(0, 10);
    expect(onDisk).toBe(join(tg.config.recordings.dir, day, `${sshSessionId}.0.cast`));
    expect(readFileSync(saved)).toEqual(readFileSync(onDisk));
    const header = JSON.parse(readFileSync(saved, 'utf8').split('\n')[0]!) as { custos: Record<string, unknown> };
    expect(header.custos).toMatchObject({
      sessionId: sshSessionId,
      channelId: 0,
      channelKind: 'shell',
      protocol: 'ssh',
      identity: { name: 'alice', kind: 'human', owner: null },
      credential: credentialOf(f.keys.alice.publicPath),
      target: 'web1',
      login: f.login,
      recordInput: true,
      pty: true,
    });
  });

  it('shows a command run without a terminal as its text, and a binary one as its size and digest with a download', async () => {
    /** The closed session in which alice ran `command`. */
    const sessionOf = (command: string) =>
      waitFor(
        async () => {
          for (const row of await tg.gateway.store.sessions.list({ identity: 'alice', state: 'closed', limit: 5 })) {
            const detail = await tg.gateway.store.sessions.detail(row.id);
            if (detail?.channels.some((channel) => channel.command === command)) return detail;
          }
          return undefined;
        },
        { what: `the session of "${command}"` },
      );
    const command = 'printf "first\\nsecond\\n"; echo third >&2';
    const run = await f.run(f.keys.alice, `${f.login}@web1`, [command]);
    expect(run.stdout.toString()).toBe('first\nsecond\n');
    const text = await sessionOf(command);
    await page.goto(`${base}/sessions/${text.session.id}`);
    await expect.poll(() => page.locator('.picker .recording').textContent()).toContain(`channel 0 (exec: ${command})`);
    // The bytes as they passed, each stream apart (a byte recording: no terminal to replay).
    await expect.poll(() => page.locator('[data-testid=stream-stdout] pre').textContent(), { timeout: 20_000 }).toBe('first\nsecond\n');
    expect(await page.locator('[data-testid=stream-stderr] pre').textContent()).toContain('third\n');
    expect(await page.locator('[data-testid=stream-stdin]').textContent()).toContain('empty');
    await expect.poll(() => page.locator('[data-testid=verify-0]').textContent(), { timeout: 20_000 }).toBe('verified');
    expect(await page.locator('[data-testid=bytes-view]').textContent()).toContain('exit status 0');
    await shot('session-exec');

    const binaryCommand = 'head -c 50000 /dev/urandom';
    const binary = await f.run(f.keys.alice, `${f.login}@web1`, [binaryCommand]);
    expect(binary.stdout.length).toBe(50_000);
    const detail = await sessionOf(binaryCommand);
    await page.goto(`${base}/sessions/${detail.session.id}`);
    const digest = createHash('sha256').update(binary.stdout).digest('hex');
    await expect.poll(() => page.locator('[data-testid=stream-stdout]').textContent(), { timeout: 20_000 }).toContain(`binary, 50000 bytes, sha256 ${digest}`);
    await expect.poll(() => page.locator('[data-testid=verify-0]').textContent(), { timeout: 20_000 }).toBe('verified');
    await shot('session-binary');
    const [stdout] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-stdout]')]);
    expect(stdout.suggestedFilename()).toBe(`${detail.session.id}-0.stdout`);
    const savedStdout = join(ARTIFACTS_DIR, 'viewer-download.stdout');
    await stdout.saveAs(savedStdout);
    expect(readFileSync(savedStdout).equals(binary.stdout)).toBe(true);
    const [recording] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-bytes]')]);
    expect(recording.suggestedFilename()).toBe(`${detail.session.id}-0.bytes`);
    const savedRecording = join(ARTIFACTS_DIR, 'viewer-download.bytes');
    await recording.saveAs(savedRecording);
    expect(readFileSync(savedRecording).equals(readFileSync(detail.channels[0]!.recordingPath!))).toBe(true);
  });

  it('renders recorded HTML inert, keeps colours, and seeks a long recording to a snapshot segment', async () => {
    await page.goto(`${base}/sessions?ticket=CHG-2001`);
    await expect.poll(() => page.locator('[data-testid=sessions] tbody tr').count()).toBe(1);
    await page.click(`[data-testid=sessions] a[href="/sessions/${fixtureSessionId}"]`);
    await page.waitForURL(`${base}/sessions/${fixtureSessionId}`);
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
    await shot('session-fixture');

    // Seek near the end: that segment starts from a server-side terminal snapshot.
    await page.locator('[data-testid=markers] button', { hasText: 'late-check' }).click();
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LATE-SCREEN-TEXT');
    await expect.poll(terminalText).toMatch(/counter \d+/);
    expect(await terminalText()).not.toContain('MARKER-TEXT-42');
    await shot('session-fixture-seeked');

    // A speed change re-creates the player where it was.
    await page.selectOption('[data-testid=speed]', '4');
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('LATE-SCREEN-TEXT');
  });

  it('shows queries with statements as text, and downloads the filtered CSV', async () => {
    await page.click('header nav a[href="/queries"]');
    await page.waitForURL(`${base}/queries`);
    await expect.poll(() => page.locator('[data-testid=queries] tbody tr').count()).toBe(3);
    const tableText = (await page.locator('[data-testid=queries]').textContent()) ?? '';
    expect(tableText).toContain("select '<img src=x onerror=window.__xss=3>'");
    expect(tableText).toContain('relation "nope" does not exist');
    expect(await page.locator('p.status').textContent()).toBe('3 statements shown.');
    expect(await page.locator('button.more').isVisible()).toBe(false);
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
    expect(lines[0]).toMatch(/^id,started_at,identity,identity_id,session_id,/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('select id, name from customers where id = 7');
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

  it('raised no script errors and no CSP violations', () => {
    expect(problems.filter((text) => !/status of 401/.test(text))).toEqual([]);
  });
});
