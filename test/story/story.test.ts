import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Story, StoryEntry } from '../../src/recorder/story/story-model.js';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { MARKUP, runStoryScenario, type StoryScenario } from '../helpers/story-scenario.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * The reconstruction an auditor must be able to do: one scripted story through the real
 * clients (helpers/story-scenario.ts), then the timeline of each identity, its HTML page in
 * Chromium, an evidence bundle verified offline and caught when changed, and `custos verify`
 * catching a changed recording and events removed from the end.
 */
let s: StoryScenario;
const temp = makeTempDir('cstory-');
beforeAll(async () => {
  s = await runStoryScenario();
}, 300_000);
afterAll(async () => {
  await s?.stop();
  temp.remove();
});

const cli = (args: string[]) => s.f.gateway.cli(args);

async function storyOf(identity: string, extra: string[] = []): Promise<{ header: Omit<Story, 'entries'>; entries: StoryEntry[] }> {
  const result = await cli(['story', '--identity', identity, '--since', s.since, '--format', 'jsonl', ...extra]);
  expect(result.code, result.stderr).toBe(0);
  const [header, ...entries] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(header).toMatchObject({ kind: 'story', schema: 'custos.story/1' });
  return { header: header as unknown as Omit<Story, 'entries'>, entries: entries as unknown as StoryEntry[] };
}

/** [kind, session key or null, a fragment of the summary] per entry. */
function shape(entries: StoryEntry[]): Array<[string, string | null, string]> {
  const keys = Object.fromEntries(Object.entries(s.sessions).map(([key, id]) => [id, key]));
  return entries.map((entry) => [entry.kind, entry.session_id ? (keys[entry.session_id] ?? 'other') : null, entry.summary]);
}

describe('custos story', () => {
  it("lists every action of a human, in order, with the ids that lead to the evidence, and nothing else", async () => {
    const { header, entries } = await storyOf('alice');
    expect(header.identity).toMatchObject({ name: 'alice', kind: 'human', roles: ['ops', 'kube-ops'], bots: ['carol', 'deployer'] });
    const times = entries.map((entry) => Date.parse(entry.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const kube = entries.filter((entry) => entry.protocol === 'kubernetes');
    expect(shape(entries.filter((entry) => entry.protocol !== 'kubernetes'))).toEqual([
      ['resource.update', null, expect.stringContaining('identity/alice changed: spec.roles ["ops","kube-ops"] -> ["ops","kube-ops","db-users"]')],
      ['permission.grant', null, 'role db-users granted to alice'],
      ['access.deny', 'other', expect.stringContaining('login "operator" is not allowed')],
      ['session.start', 'shell', expect.stringContaining(`ssh session ${s.sessions.shell} on web1 as ${s.f.login}`)],
      ['channel', 'shell', 'shell with a terminal (xterm-256color 100x30) -> exit 0'],
      ['command', 'shell', '$ echo story-$((6*7))'],
      ['command', 'shell', `$ echo '${MARKUP}' | tr -d x`],
      ['command', 'shell', '$ exit'],
      ['session.end', 'shell', expect.stringMatching(/ended after [\d.]+s: the client disconnected$/)],
      ['session.start', 'exec', expect.stringContaining('ssh session')],
      ['channel', 'exec', 'exec echo exec-output -> exit 0'],
      ['session.end', 'exec', expect.stringContaining('ended after')],
      ['session.start', 'sftp', expect.stringContaining('ssh session')],
      ['channel', 'sftp', 'sftp -> exit 0'],
      ['file', 'sftp', `open ${s.remoteDir}/uploaded.txt`],
      ['file', 'sftp', `write ${s.remoteDir}/uploaded.txt (9 bytes)`],
      ['session.end', 'sftp', expect.stringContaining('ended after')],
      ['session.start', 'psql', expect.stringContaining(`postgres session ${s.sessions.psql} on orders as database user app`)],
      ['session.end', 'psql', expect.stringMatching(/, 2 statements: the client ended the session$/)],
      ['request.create', null, expect.stringContaining('alice asked for database user app on orders for 1h as deployer, ticket CHG-42')],
      ['request.revoke', null, expect.stringContaining(`request ${s.requestId} of deployer revoked by alice (reason: migration done)`)],
      ['grant.end', null, expect.stringContaining('ended: revoked')],
      ['access.revoked', 'bot', expect.stringContaining(`access under request ${s.requestId} (CHG-42) was revoked by alice`)],
      ['resource.update', null, expect.stringContaining('spec.roles ["ops","kube-ops","db-users"] -> ["ops","kube-ops"]')],
      ['permission.revoke', null, 'role db-users taken from alice'],
    ]);
    // kubectl: the API session with its requests (discovery first), the exec as a session of
    // its own; all between the psql session's end and the request for the bot.
    expect(shape(kube)).toEqual([
      ['session.start', 'kubeApi', expect.stringContaining(`kubernetes session ${s.sessions.kubeApi} on k8s as custos:alice from 127.0.0.1`)],
      ['kubernetes.request', 'kubeApi', 'get /version?timeout=5s -> 200'],
      ['kubernetes.request', 'kubeApi', 'get /api?timeout=32s -> 200'],
      ['kubernetes.request', 'kubeApi', 'get /apis?timeout=32s -> 200'],
      ['kubernetes.request', 'kubeApi', 'list pods in namespace default -> 200'],
      ['kubernetes.request', 'kubeApi', 'get /version?timeout=5s -> 200'],
      ['kubernetes.request', 'kubeApi', 'get pods box in namespace default -> 200'],
      ['session.start', 'kubeExec', expect.stringContaining(`kubernetes session ${s.sessions.kubeExec} on k8s as custos:alice`)],
      ['kubernetes.request', 'kubeExec', 'create pods/exec box in namespace default -> 101'],
      ['channel', 'kubeExec', 'exec echo kube-output -> exit 0'],
      ['session.end', 'kubeExec', expect.stringContaining('ended after')],
      ['session.end', 'kubeApi', expect.stringMatching(/ended after [\d.]+s: idle: no request for 2s$/)],
    ]);
    expect(kube.filter((e) => e.kind === 'kubernetes.request').every((e) => e.kube_request && e.kube_request.id > 0 && e.details.decision === 'allowed')).toBe(true);
    const psqlEnd = entries.findIndex((e) => e.kind === 'session.end' && e.session_id === s.sessions.psql);
    const requestCreate = entries.findIndex((e) => e.kind === 'request.create');
    expect(entries.slice(psqlEnd + 1, requestCreate)).toEqual(kube);
    expect(entries.find((e) => e.kind === 'channel' && e.session_id === s.sessions.kubeExec)!.recording!.file).toMatch(/\.bytes$/);
    // The ids that lead to the evidence.
    const shellStart = entries.find((e) => e.kind === 'session.start' && e.session_id === s.sessions.shell)!;
    expect(shellStart.audit_seqs).toHaveLength(2);
    const commands = entries.filter((e) => e.kind === 'command');
    expect(commands.every((e) => e.channel_id === 0 && e.recording?.file === `${s.sessions.shell}.0.cast`)).toBe(true);
    const shellEnd = entries.find((e) => e.kind === 'session.end' && e.session_id === s.sessions.shell)!;
    expect(shellEnd.recording).toEqual({ file: `${s.sessions.shell}.0.cast`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(entries.find((e) => e.kind === 'channel' && e.session_id === s.sessions.exec)!.recording!.file).toBe(`${s.sessions.exec}.0.bytes`);
    for (const kind of ['request.create', 'request.revoke', 'grant.end']) {
      expect(entries.find((e) => e.kind === kind)).toMatchObject({ request_id: s.requestId, ticket: 'CHG-42' });
    }
    const audited = entries.filter((e) => !['channel', 'command', 'file', 'kubernetes.request'].includes(e.kind));
    expect(audited.every((e) => e.audit_seqs.length > 0)).toBe(true);
    // Every cited audit event is about alice, done by her, or one of her sessions'.
    const events = (await cli(['audit', 'ls', '--since', s.since, '--limit', '10000', '--format', 'jsonl'])).stdout.trim().split('\n').map((line) => JSON.parse(line) as { seq: number; identity: string | null; actor: string; session_id: string | null });
    const bySeq = new Map(events.map((event) => [event.seq, event]));
    for (const seq of entries.flatMap((e) => e.audit_seqs)) {
      const event = bySeq.get(seq)!;
      expect(event.identity === 'alice' || event.actor === 'alice' || Object.values(s.sessions).includes(event.session_id!)).toBe(true);
    }
  });

  it("shows a bot's owner, the human approval behind its token, and its statements with their parameters", async () => {
    const { header, entries } = await storyOf('deployer', ['--statements']);
    expect(header.identity).toMatchObject({
      name: 'deployer',
      kind: 'bot',
      owner: 'alice',
      credentials: [
        {
          token_id: s.botTokenId,
          revoked_by: 'alice',
          request: { id: s.requestId, requested_by: 'alice', ticket: 'CHG-42', approvals: [{ approver: 'vera', decision: 'approve', reason: 'on the change calendar' }] },
        },
      ],
    });
    expect(shape(entries)).toEqual([
      ['request.create', null, expect.stringContaining('alice asked for database user app')],
      ['request.approve', null, expect.stringContaining('approved by vera, ticket CHG-42 (1/1)')],
      ['grant.start', null, expect.stringContaining('approved by vera')],
      ['token.create', null, expect.stringContaining(`token ${s.botTokenId} created for deployer under request ${s.requestId}`)],
      ['session.start', 'bot', expect.stringContaining(`(bot of alice), credential ${s.botTokenId} under request ${s.requestId} (CHG-42)`)],
      ['statement', 'bot', 'SELECT name FROM items WHERE id = $1 ["3"] -> SELECT 1'],
      ['request.revoke', null, expect.stringContaining('revoked by alice')],
      ['grant.end', null, expect.stringContaining('revoked')],
      ['access.revoked', 'bot', expect.stringContaining('was revoked by alice')],
      ['session.end', 'bot', expect.stringContaining('1 statement: access under request')],
    ]);
    const start = entries.find((e) => e.kind === 'session.start')!;
    expect(start).toMatchObject({ request_id: s.requestId, ticket: 'CHG-42', grant_id: expect.stringMatching(/^grt_/) });
    expect(start.details.approval).toMatchObject({ request: s.requestId, approvers: ['vera'] });
    expect(entries.find((e) => e.kind === 'statement')!.query).toMatchObject({ seq: 1, id: expect.any(Number) });

    const text = await cli(['story', '--identity', 'deployer', '--since', s.since]);
    expect(text.stdout).toContain(`story of deployer (bot; owner alice; roles db-gated)`);
    expect(text.stdout).toContain(`minted under request ${s.requestId} (CHG-42) asked by alice, approved by vera`);
  });

  it('writes one self-contained HTML page that Chromium shows offline with the same entries, recorded markup as text', async () => {
    const html = await cli(['story', '--identity', 'alice', '--since', s.since, '--format', 'html']);
    expect(html.code).toBe(0);
    expect(html.stdout).not.toMatch(/<script|src=["']?https?:|href=["']?https?:|<link /i);
    const file = join(temp.path, 'alice.html');
    writeFileSync(file, html.stdout);
    const { entries } = await storyOf('alice');
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(file).href);
      const rows = await page.locator('[data-testid=story] tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      expect(rows.map((cells) => [cells[1], cells[3]])).toEqual(entries.map((entry) => [entry.kind, entry.summary]));
      expect(rows.find((cells) => cells[3]!.includes(MARKUP))).toBeDefined();
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.title()).toBe('Custos story: alice');
      expect(requests).toEqual([pathToFileURL(file).href]);
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'story-html.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

describe('custos export and verify --bundle', () => {
  let bundle: string;

  /** Unpacks a bundle, changes it, and packs it again (optionally with a manifest made to match). */
  function tampered(name: string, change: (dir: string) => void, fixManifest: boolean): string {
    const dir = join(temp.path, `${name}-dir`);
    mkdirSync(dir);
    const order = execFileSync('tar', ['-tzf', bundle], { encoding: 'utf8' }).trim().split('\n');
    execFileSync('tar', ['-xzf', bundle, '-C', dir]);
    change(dir);
    if (fixManifest) {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; bytes: number; sha256: string }> };
      for (const entry of manifest.files) {
        const bytes = readFileSync(join(dir, entry.path));
        entry.bytes = bytes.length;
        entry.sha256 = createHash('sha256').update(bytes).digest('hex');
      }
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    }
    const out = join(temp.path, `${name}.tar.gz`);
    execFileSync('tar', ['--format=ustar', '-czf', out, '-C', dir, ...order]);
    return out;
  }

  const verifyBundle = (file: string, extra: string[] = []) => cli(['verify', '--bundle', file, ...extra]);

  it('exports alice\'s evidence, and the bundle verifies offline', async () => {
    bundle = join(temp.path, 'alice.tar.gz');
    const exported = await cli(['export', '--identity', 'alice', '--since', s.since, '-o', bundle]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/wrote .*alice\.tar\.gz: \d+ story entries, 6 sessions, 4 recordings, 2 statements, [1-9]\d* Kubernetes requests/);
    const files = execFileSync('tar', ['-tzf', bundle], { encoding: 'utf8' }).trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining(['README.txt', 'story.jsonl', 'story.html', 'sessions.jsonl', 'queries.jsonl', 'kube-requests.jsonl', 'audit.jsonl', 'chain.jsonl', 'SHA256SUMS', 'manifest.json', `recordings/${s.sessions.shell}/${s.sessions.shell}.0.cast`]),
    );
    // sha256sum checks it without Custos too.
    const dir = join(temp.path, 'plain');
    mkdirSync(dir);
    execFileSync('tar', ['-xzf', bundle, '-C', dir]);
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' })).not.toContain('FAILED');
    const recorded = readFileSync(join(dir, 'recordings', s.sessions.sftp, `${s.sessions.sftp}.0.bytes`));
    expect(recorded.subarray(0, 15).toString()).toBe('custos-bytes/1\n');
    expect(readdirSync(join(dir, 'recordings')).sort()).toEqual(Object.values(s.sessions).filter((id) => ![s.sessions.bot, s.sessions.psql, s.sessions.kubeApi].includes(id)).sort());

    const head = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).chain.head as { seq: number; hash: string };
    const verified = await verifyBundle(bundle, ['--expect-head', `${head.seq}:${head.hash}`]);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toContain('files: 13 match the manifest');
    expect(verified.stdout).toMatch(/recordings: 4 match the digests sealed/);
    expect(verified.stdout).toMatch(/query logs: 1 sessions \(2 statements\) match/);
    expect(verified.stdout).toMatch(/kubernetes requests: 2 sessions \([1-9]\d* requests\) match the digests sealed in their session\.end/);
    const kubeRows = readFileSync(join(dir, 'kube-requests.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { session_id: string; verb: string; resource: string });
    expect(kubeRows.every((row) => row.session_id === s.sessions.kubeApi || row.session_id === s.sessions.kubeExec)).toBe(true);
    expect(kubeRows.map((row) => `${row.verb} ${row.resource}`)).toEqual(expect.arrayContaining(['list pods', 'create pods']));
    expect(verified.stdout).toContain(`verified: the bundle is intact and links to head seq ${head.seq} hash ${head.hash}`);
  });

  it('fails naming the file when one byte of a recording is changed, with or without a manifest made to match', async () => {
    const path = `recordings/${s.sessions.exec}/${s.sessions.exec}.0.bytes`;
    const flip = (dir: string) => {
      const bytes = readFileSync(join(dir, path));
      bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
      writeFileSync(join(dir, path), bytes);
    };
    const plain = await verifyBundle(tampered('recording', flip, false));
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(new RegExp(`bundle verification FAILED: ${path} was changed: .* the manifest says`));
    const forged = await verifyBundle(tampered('recording-forged', flip, true));
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(new RegExp(`bundle verification FAILED: ${path} does not match the digest sealed in session.end \\(audit seq \\d+\\)`));
  });

  it('fails naming the file when one query row is changed', async () => {
    const edit = (dir: string) => {
      const file = join(dir, 'queries.jsonl');
      writeFileSync(file, readFileSync(file, 'utf8').replace('WHERE id = $1', 'WHERE id <> $1'));
    };
    expect((await verifyBundle(tampered('query', edit, false))).stdout).toMatch(/FAILED: queries\.jsonl was changed/);
    const forged = await verifyBundle(tampered('query-forged', edit, true));
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(new RegExp(`FAILED: queries\\.jsonl \\(session ${s.sessions.psql}, lines 1–2\\): the statements do not match the digest sealed in session\\.end`));
  });

  it('fails naming the file when one Kubernetes request is changed', async () => {
    const edit = (dir: string) => {
      const file = join(dir, 'kube-requests.jsonl');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"verb":"list"', '"verb":"get"'));
    };
    expect((await verifyBundle(tampered('kube', edit, false))).stdout).toMatch(/FAILED: kube-requests\.jsonl was changed/);
    const forged = await verifyBundle(tampered('kube-forged', edit, true));
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(new RegExp(`FAILED: kube-requests\\.jsonl \\(session ${s.sessions.kubeApi}, lines [\\d, ]+\\): the requests do not match the digest sealed in session\\.end`));
  });

  it('exports every identity with --all, and that bundle verifies too', async () => {
    const all = join(temp.path, 'all.tar.gz');
    const exported = await cli(['export', '--all', '--since', s.since, '-o', all]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/: \d+ story entries, 7 sessions, 4 recordings, 3 statements, \d+ Kubernetes requests/);
    const verified = await verifyBundle(all);
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/query logs: 2 sessions \(3 statements\) match/);
    const none = await cli(['export', '--since', s.since, '-o', join(temp.path, 'none.tar.gz')]);
    expect(none.code).toBe(2);
  });

  it('fails naming the file when one audit event is changed', async () => {
    const edit = (name: string) => (dir: string) => {
      const file = join(dir, name);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"reason":"migration done"', '"reason":"routine"'));
    };
    expect((await verifyBundle(tampered('audit', edit('audit.jsonl'), false))).stdout).toMatch(/FAILED: audit\.jsonl was changed/);
    const forged = await verifyBundle(tampered('audit-forged', edit('audit.jsonl'), true));
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/FAILED: audit\.jsonl line \d+ \(audit seq \d+\): the event was changed: its content does not match its hash/);
    const chain = await verifyBundle(tampered('chain-forged', edit('chain.jsonl'), true));
    expect(chain.stdout).toMatch(/FAILED: chain\.jsonl line \d+ \(audit seq \d+\): event \d+ \(request\.revoke\) was changed/);
  });
});

describe('custos verify', () => {
  const recordingOf = async (session: string) => (await s.f.gateway.gateway.store.sessions.get(session))!.recordingPath!;

  it('checks the chain, every sealed recording and every query log, and prints the head', async () => {
    const result = await cli(['verify']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^audit chain intact: \d+ events, head seq \d+ hash [0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(/^recordings: (\d+) checked against their sealed digests \(\d+ sessions\)$/m);
    expect(result.stdout).toMatch(/^query logs: 2 sessions checked against their sealed digests \(3 statements\)$/m);
    expect(result.stdout).toMatch(/^Kubernetes request logs: 2 sessions checked against their sealed digests \(7 requests\)$/m);
    const fast = await cli(['verify', '--chain-only']);
    expect(fast.code).toBe(0);
    expect(fast.stdout).not.toContain('recordings:');
  });

  it('fails naming a recording changed on disk', async () => {
    const path = await recordingOf(s.sessions.exec);
    const original = readFileSync(path);
    const changed = Buffer.from(original);
    changed[changed.length - 20] = changed[changed.length - 20]! ^ 0x01;
    writeFileSync(path, changed);
    try {
      const result = await cli(['verify']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`recording CHANGED: ${path} (session ${s.sessions.exec}, channel 0, sealed in session.end seq`);
      expect(result.stdout).toMatch(/verification FAILED: 1 problem$/m);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('fails naming a Kubernetes request changed in the store', async () => {
    const admin = await s.pg.admin(s.storeDatabase);
    try {
      await admin.query(`update kube_requests set code = 403 where session_id = $1 and verb = 'list'`, [s.sessions.kubeApi]);
      const result = await cli(['verify']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`Kubernetes request log CHANGED: the Kubernetes request log of session ${s.sessions.kubeApi} does not match its end event: sealed 6 requests`);
    } finally {
      await admin.query(`update kube_requests set code = 200 where session_id = $1 and verb = 'list'`, [s.sessions.kubeApi]);
      await admin.end();
    }
  });

  it('with --expect-head, fails naming the events removed from the end', async () => {
    const before = await cli(['verify', '--chain-only']);
    const [, seq, hash] = /head seq (\d+) hash ([0-9a-f]{64})/.exec(before.stdout)!;
    const admin = await s.pg.admin(s.storeDatabase);
    try {
      await admin.query('delete from audit_events where seq >= $1', [Number(seq) - 1]);
    } finally {
      await admin.end();
    }
    const plain = await cli(['verify', '--chain-only']);
    expect(plain.code).toBe(0);
    const anchored = await cli(['verify', '--chain-only', '--expect-head', `${seq}:${hash}`]);
    expect(anchored.code).toBe(1);
    expect(anchored.stdout).toContain(`seq ${seq} hash ${hash} (--expect-head): the chain ends at seq ${Number(seq) - 2}: events were removed from the end`);
  });
});
