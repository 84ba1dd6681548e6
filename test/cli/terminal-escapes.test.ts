import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair } from '../../src/core/generated-keys.js';
import { runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What an attacker can make the gateway record, and then make an auditor's terminal do:
 * retitle the window (OSC 0), clear the screen, forge a line that looks like an audit event
 * (CR LF), or reverse the rest of a line (U+202E). Injected here through the real front doors,
 * then listed with the real CLI.
 */
const FORGED_LINE = '\r\n999  2025-01-01 00:00:00Z  access.allow  alice';
const SSH_USER = `root\x1b]0;owned by ssh\x07${FORGED_LINE}`;
const WEB_IDENTITY = `alice\x1b]0;owned by web\x07\x1b[2J${FORGED_LINE}\u202Eevil`;
const APPLICATION_NAME = `psql\x1b]0;owned by startup\x07`;
const STATEMENT = `select '\x1b]0;owned by sql\x07\x1b[31mred\u009b0m' as t -- ${FORGED_LINE}`;

/** Everything a terminal would act on, except the LF that ends each output line. */
// eslint-disable-next-line no-control-regex -- the control characters are what is looked for
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('human-readable CLI output shows attacker-chosen text with its control characters escaped', () => {
  let s: PgScenario;
  let sessionId: string;

  beforeAll(async () => {
    s = await startPgScenario({ settings: { listen: { ssh: '127.0.0.1:0' } } });

    // An SSH client that is nobody: its user name is recorded with the failed attempt.
    const { port: sshPort } = s.tg.address('ssh');
    const key = generateEd25519KeyPair();
    await new Promise<void>((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('error', () => resolve()); // all configured authentication methods failed
      client.on('ready', () => reject(new Error('an unknown key was let in')));
      client.on('close', () => resolve());
      client.connect({ host: '127.0.0.1', port: sshPort, username: SSH_USER, privateKey: key.private, readyTimeout: 20_000 });
    });

    // A web sign-in that claims an identity name.
    const { host, port: webPort } = s.tg.address('web');
    const login = await fetch(`http://${host}:${webPort}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: WEB_IDENTITY, token: 'cus_wrong' }),
    });
    expect(login.status).toBe(401);

    // psql sends the statement's bytes as typed.
    const token = await s.token('alice');
    const psql = await runClient('psql', ['-X', '-A', '-t', '-f', '-', `host=127.0.0.1 port=${s.port} user=alice dbname=orders sslmode=disable`], { PGPASSWORD: token, PGAPPNAME: APPLICATION_NAME }, `${STATEMENT}\n`);
    expect(psql.code, psql.stderr).toBe(0);

    await waitFor(async () => (await s.tg.gateway.store.audit.list({ type: 'auth.failure' })).filter((e) => e.data.protocol === 'ssh').length > 0, {
      what: 'the SSH auth.failure event',
    });
    const [row] = await waitFor(async () => {
      const rows = (await s.tg.gateway.store.queries.list({ identity: 'alice' })).filter((r) => r.statement === STATEMENT);
      return rows.length ? rows : undefined;
    }, { what: 'the captured statement' });
    sessionId = row!.sessionId;
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
  });

  it('custos audit ls: one line per event, escapes shown, no raw control byte; --format json keeps the exact strings', async () => {
    const table = await s.tg.cli(['audit', 'ls', '--type', 'auth.failure']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3); // header, ssh, web: the forged line stays inside its event
    expect(lines.find((line) => line.includes('ssh from'))).toContain('(SSH user "root\\x1b]0;owned by ssh\\x07\\r\\n999  2025-01-01');
    const web = lines.find((line) => line.includes('web from'))!;
    expect(web).toContain('claimed:alice\\x1b]0;owned by web\\x07\\x1b[2J\\r\\n999');
    expect(web).toContain('\\u202eevil');

    const json = await s.tg.cli(['audit', 'ls', '--type', 'auth.failure', '--format', 'json']);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { identity: string | null; data: { reason: string; protocol: string } });
    expect(events.find((e) => e.data.protocol === 'web')!.identity).toBe(WEB_IDENTITY);
    expect(events.find((e) => e.data.protocol === 'ssh')!.data.reason).toContain(`(SSH user "${SSH_USER}")`);
  });

  it('custos queries: the table escapes the statement; JSON lines and CSV keep it exact', async () => {
    const table = await s.tg.cli(['queries', '--session', sessionId]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    expect(table.stdout).toContain("select '\\x1b]0;owned by sql\\x07\\x1b[31mred\\x9b0m' as t");
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(2);

    const jsonl = await s.tg.cli(['queries', '--session', sessionId, '--format', 'jsonl']);
    const records = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as { statement: string });
    expect(records.map((r) => r.statement)).toContain(STATEMENT);

    const csv = await s.tg.cli(['queries', '--session', sessionId, '--format', 'csv']);
    expect(csv.stdout).toContain(`"${STATEMENT.replaceAll('"', '""')}"`);
  });

  // The session's evidence includes what its client sent at startup (application_name).
  it('custos sessions ls and show print no raw control byte', async () => {
    for (const args of [['sessions', 'ls'], ['sessions', 'show', sessionId]]) {
      const result = await s.tg.cli(args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(sessionId);
      expect(result.stdout).not.toMatch(RAW_CONTROL);
    }
  });
});
