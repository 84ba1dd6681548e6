import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/binaries.js';
import { asIdentity, requestIdOf, type IdentityCli } from '../helpers/approvals.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { INSTALL_PG_CLIENTS, runClient, startPgScenario, type PgScenario } from '../helpers/pg-gateway.js';
import { spawnInPty } from '../helpers/pty.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Just-in-time database access with a PostgreSQL store shared by two gateways: requests are
 * made and answered through gateway B's web API, psql connects through gateway A, and a
 * revocation or an expiry written anywhere ends the live psql session on A. Both gateways
 * sweep the store; each grant end is written once.
 */
let s: PgScenario;
let b: TestGateway;
let pat: IdentityCli;
let alice: IdentityCli;
let approver: IdentityCli;
const PSQL = () => requireBinary('psql', INSTALL_PG_CLIENTS);

beforeAll(async () => {
  s = await startPgScenario({ postgresStore: true, settings: { listen: { web: '127.0.0.1:0' } } });
  b = await startTestGateway({ storeUrl: s.storeUrl!, settings: { nodeName: 'node-b' } });
  await s.apply(`
kind: role
name: orders-gated
spec:
  targets: { name: orders }
  dbUsers: [app]
  requireApproval: { approvers: [dba-approvers], maxDuration: 1h }
---
kind: role
name: dba-approvers
spec: {}
---
kind: identity
name: pat
spec: { kind: human, roles: [orders-gated] }
---
kind: identity
name: approver
spec: { kind: human, roles: [dba-approvers] }
---
kind: identity
name: etl
spec: { kind: bot, owner: alice, roles: [orders-gated] }
`);
  pat = asIdentity(b, await s.token('pat'));
  alice = asIdentity(b, await s.token('alice'));
  approver = asIdentity(b, await s.token('approver'));
}, 180_000);
afterAll(async () => {
  await b?.stop();
  await s?.stop();
});

const store = () => s.tg.gateway.store;
const conninfo = (user: string) => `host=127.0.0.1 port=${s.port} user=${user} dbname=orders sslmode=disable`;
const create = async (who: IdentityCli, args: string[]) => {
  const result = await who.cli(['request', 'create', '--target', 'orders', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return requestIdOf(result);
};
const approve = async (id: string) => {
  const result = await approver.cli(['request', 'approve', id]);
  expect(result.code, result.stderr).toBe(0);
};
const liveSessionOf = (identity: string) =>
  waitFor(async () => (await store().sessions.list({ identity, state: 'live' }))[0], { what: `a live session of ${identity}` });

describe('just-in-time PostgreSQL access, two gateways on a PostgreSQL store', () => {
  it('psql is denied without a grant, with the request command in the error', async () => {
    const token = await s.token('pat');
    const run = await runClient('psql', ['-X', conninfo('pat'), '-c', 'select 1'], { PGPASSWORD: token });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'access to target "orders" denied: database user app on orders needs an approved request (role orders-gated requires approval); ask for it with: custos request create --target orders --db-user app --reason "…"',
    );
  });

  it('approved through gateway B, used through gateway A: the ticket is on the session row and in the query export; revoking through B ends the live psql on A', async () => {
    const id = await create(pat, ['--db-user', 'app', '--reason', 'month-end report', '--ticket', 'INC-77']);
    await approve(id);
    const token = await s.token('pat');
    const term = spawnInPty(PSQL(), ['-X', conninfo('pat')], { env: { PGPASSWORD: token } });
    await term.waitFor('orders=>');
    term.write("select 'ticketed' as marker;\r");
    await term.waitFor('ticketed');
    const session = await liveSessionOf('pat');
    expect(session).toMatchObject({ node: 'test-node', requestId: id, ticket: 'INC-77', grantId: expect.stringMatching(/^grt_/) });

    const csv = await s.tg.cli(['queries', '--session', session.id, '--format', 'csv']);
    const [header, first] = csv.stdout.trim().split('\r\n');
    expect(header!.split(',').at(-1)).toBe('ticket');
    expect(first).toContain("select 'ticketed' as marker");
    expect(first!.split(',').at(-1)).toBe('INC-77');

    const revoked = await approver.cli(['request', 'revoke', id, '--reason', 'report done']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('1 live session under it ended');
    term.write('select 1;\r');
    await term.waitFor(`FATAL:  terminating connection: access under request ${id} (INC-77) was revoked by approver: report done`);
    term.write('\\q\r');
    await term.exited;
    const row = await waitFor(async () => {
      const found = await store().sessions.get(session.id);
      return found?.state === 'closed' ? found : undefined;
    });
    expect(row.endReason).toBe(`access under request ${id} (INC-77) was revoked by approver: report done`);
    const shown = await approver.cli(['request', 'show', id]);
    expect(shown.stdout).toMatch(new RegExp(`${session.id}\\s+postgres\\s+closed\\s+.*\\s1\\s+-\\s+access under request`));
  });

  it('a grant that runs out ends the live psql session on A; the two sweepers write its end once', async () => {
    const id = await create(pat, ['--db-user', 'app', '--reason', 'quick check', '--duration', '4s']);
    await approve(id);
    const token = await s.token('pat');
    const term = spawnInPty(PSQL(), ['-X', conninfo('pat')], { env: { PGPASSWORD: token } });
    await term.waitFor('orders=>');
    await liveSessionOf('pat');
    const fatal = new RegExp(`FATAL: +terminating connection: access under request ${id} expired at \\S+Z`);
    // psql reports the end when it next talks to the server: keep asking until it does.
    await waitFor(
      async () => {
        term.write('select 1;\r');
        return fatal.test(term.output());
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'the expiry to end the psql session' },
    );
    term.write('\\q\r');
    await term.exited;
    const ended = await waitFor(async () => {
      const detail = await store().requests.get(id);
      return detail?.request.state === 'expired' ? detail : undefined;
    });
    expect(ended.grant).toMatchObject({ state: 'ended', endKind: 'expired' });
    const ends = (await store().audit.list({ type: 'grant.end' })).filter((event) => event.data.request === id);
    expect(ends).toHaveLength(1);
    expect(ends[0]!.actor).toMatch(/^gateway:(test-node|node-b)$/);
  });

  it("a bot's token minted under a request stops working when the grant ends", async () => {
    const id = await create(alice, ['--for', 'etl', '--db-user', 'app', '--reason', 'nightly load', '--duration', '1h']);
    const owner = await alice.cli(['request', 'approve', id]);
    expect(owner.code).toBe(2);
    await approve(id);
    const minted = await b.cli(['token', 'create', 'etl', '--request', id]);
    expect(minted.code, minted.stderr).toBe(0);
    const botToken = minted.stdout.trim();
    const client = s.client({ user: 'etl', password: botToken });
    await client.connect();
    const failed = new Promise<Error & { code?: string }>((resolve) => client.on('error', resolve));
    expect((await client.query('select 40 + 2 as n')).rows[0]).toEqual({ n: 42 });
    const session = await liveSessionOf('etl');
    expect(session).toMatchObject({ identityKind: 'bot', identityOwner: 'alice', requestId: id });

    // The grant ends (revoked here, through gateway B): the live session ends, the token is refused.
    expect((await approver.cli(['request', 'revoke', id, '--reason', 'load cancelled'])).code).toBe(0);
    const error = await failed;
    expect(error.code).toBe('57P01');
    expect(error.message).toBe(`terminating connection: access under request ${id} was revoked by approver: load cancelled`);
    await client.end().catch(() => undefined);
    const again = s.client({ user: 'etl', password: botToken });
    await expect(again.connect()).rejects.toMatchObject({ code: '28P01' });
    const failure = (await store().audit.list({ type: 'auth.failure', identity: 'etl' })).at(-1);
    expect(failure?.data.reason).toMatch(new RegExp(`token tok_\\S+ \\(minted under request ${id}\\) was revoked`));
  });
});
