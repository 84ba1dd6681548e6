import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asIdentity, requestIdOf, sshTargetYaml, tokenFor, type IdentityCli } from '../helpers/approvals.js';
import { spawnInPty } from '../helpers/pty.js';
import { SSH, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { makeKeyPair } from '../helpers/ssh-keys.js';
import { readByteRecording } from '../helpers/recordings.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Just-in-time SSH access through the real OpenSSH client and sshd: a role that requires
 * approval, denials that say how to ask, requests made and answered with the real CLI
 * (as identities, over the web API with their tokens), separation of duties, sessions under
 * a grant with their approval tags, and grants that end live shells when revoked or expired.
 */
let f: SshFixture;
let alice: IdentityCli;
let dan: IdentityCli;
let erin: IdentityCli;
let carolBot: IdentityCli;

const store = () => f.gateway.gateway.store;
const tokenOf = (identity: string) => tokenFor(f.gateway, identity);

beforeAll(async () => {
  f = await startSshFixture();
  const approverKey = makeKeyPair(f.dir, 'dan');
  await f.apply(`${sshTargetYaml(f, 'prod1', { env: 'prod' })}
---
${sshTargetYaml(f, 'prod2', { env: 'prod2' })}
---
kind: role
name: prod-access
spec:
  targets: { env: prod }
  logins: [${f.login}]
  recordInput: true
  requireApproval: { approvers: [approvers], maxDuration: 1h, ticket: required, ticketPattern: "^CHG-[0-9]+$" }
---
kind: role
name: prod-double
spec:
  targets: { env: prod2 }
  logins: [${f.login}]
  requireApproval: { approvers: [approvers], approvals: 2 }
---
kind: role
name: approvers
spec: { viewer: { sessions: all } }
---
kind: identity
name: alice
spec: { kind: human, roles: [ops, prod-access, prod-double], sshKeys: ["${f.keys.alice.publicLine}"] }
---
kind: identity
name: carol
spec: { kind: bot, owner: alice, roles: [brief, prod-access], sshKeys: ["${f.keys.carol.publicLine}"] }
---
kind: identity
name: dan
spec: { kind: human, roles: [approvers], sshKeys: ["${approverKey.publicLine}"] }
---
kind: identity
name: erin
spec: { kind: human, roles: [approvers] }
`);
  alice = asIdentity(f.gateway, await tokenOf('alice'));
  dan = asIdentity(f.gateway, await tokenOf('dan'));
  erin = asIdentity(f.gateway, await tokenOf('erin'));
  carolBot = asIdentity(f.gateway, await tokenOf('carol'));
}, 180_000);
afterAll(() => f?.stop());

const create = async (who: IdentityCli, args: string[]) => {
  const result = await who.cli(['request', 'create', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return requestIdOf(result);
};
const approve = async (who: IdentityCli, id: string) => {
  const result = await who.cli(['request', 'approve', id, '--reason', 'looks right']);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
};
const liveSessionOn = (target: string) =>
  waitFor(async () => (await store().sessions.list({ target, state: 'live' }))[0], { what: `a live session on ${target}` });
const closed = (id: string) =>
  waitFor(
    async () => {
      const row = await store().sessions.get(id);
      return row && row.state !== 'live' ? row : undefined;
    },
    { what: `session ${id} to end` },
  );

describe('just-in-time SSH access', () => {
  it('denies access a role gives only with approval, saying exactly how to ask', async () => {
    const run = await f.run(f.keys.alice, `${f.login}@prod1`, ['true']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `custos: access denied: login ${f.login} on prod1 needs an approved request (role prod-access requires approval); ask for it with: ` +
        `custos request create --target prod1 --login ${f.login} --reason "…" --ticket "…" (a ticket is required, matching ^CHG-[0-9]+$)`,
    );
    const denied = await store().audit.list({ type: 'access.deny', identity: 'alice' });
    expect(denied.at(-1)?.data.reason).toContain('custos request create --target prod1');
  });

  it('refuses a request without the ticket the role requires, or with one off its pattern', async () => {
    const missing = await alice.cli(['request', 'create', '--target', 'prod1', '--reason', 'disk full']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('role prod-access requires a ticket');
    const wrong = await alice.cli(['request', 'create', '--target', 'prod1', '--reason', 'disk full', '--ticket', 'JIRA-7']);
    expect(wrong.stderr).toContain('ticket "JIRA-7" does not match ^CHG-[0-9]+$');
  });

  it('request → self-approval refused → approval by another identity → a session carrying the approval everywhere', async () => {
    const id = await create(alice, ['--target', 'prod1', '--login', f.login, '--reason', 'rotate logs on prod1', '--ticket', 'CHG-1001', '--duration', '30m']);
    const self = await alice.cli(['request', 'approve', id]);
    expect(self.code).toBe(2);
    expect(self.stderr).toContain('alice asked for this access: nobody approves or denies their own request');
    // The admin socket's OS user is no identity: it cannot approve.
    const admin = await f.gateway.cli(['request', 'approve', id]);
    expect(admin.code).toBe(2);
    expect(admin.stderr).toContain('approving and denying are acts of an identity');
    expect(await approve(dan, id)).toMatch(new RegExp(`^request ${id} approved \\(1/1\\)`));

    const run = await f.run(f.keys.alice, `${f.login}@prod1`, ['echo under-approval']);
    expect(run.stdout.toString()).toBe('under-approval\n');
    const session = await waitFor(async () => (await store().sessions.list({ ticket: 'CHG-1001' })).find((row) => row.state === 'closed'), { what: 'the session under the request' });
    expect(session).toMatchObject({ requestId: id, ticket: 'CHG-1001', grantId: expect.stringMatching(/^grt_/), target: 'prod1' });

    const approval = { request: id, ticket: 'CHG-1001', approvers: ['dan'], until: expect.any(String) };
    // `ssh host command` has no terminal: its recording is a byte recording with a JSON header.
    const header = readByteRecording(session.recordingPath!).header as unknown as { custos: Record<string, unknown> };
    expect(header.custos.approval).toEqual(approval);
    const events = await store().audit.list({ sessionId: session.id });
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['access.allow', 'session.start', 'session.end']));
    for (const event of events) expect(event.data.approval, event.type).toMatchObject({ request: id, ticket: 'CHG-1001' });

    const listed = await f.gateway.cli(['sessions', 'ls', '--ticket', 'CHG-1001']);
    expect(listed.stdout).toContain(session.id);
    const shown = await alice.cli(['request', 'show', id]);
    expect(shown.stdout).toMatch(new RegExp(`SESSIONS[\\s\\S]*${session.id}`));
    const history = await store().audit.list({ typePrefix: 'request.' });
    expect(history.filter((event) => event.data.request === id).map((event) => [event.type, event.actor])).toEqual([
      ['request.create', 'alice'],
      ['request.approve', 'dan'],
    ]);
    const started = (await store().audit.list({ type: 'grant.start' })).find((event) => event.data.request === id);
    expect(started).toMatchObject({ actor: 'dan', data: { ticket: 'CHG-1001', approvers: ['dan'] } });
    // Done: the requester withdraws it (the later tests want no other grant on prod1).
    expect((await alice.cli(['request', 'revoke', id, '--reason', 'done'])).code).toBe(0);
  });

  it("a bot's request: its owner and the bot cannot approve it; a token minted under it works only while the grant lasts", async () => {
    const id = await create(alice, ['--for', 'carol', '--target', 'prod1', '--reason', 'nightly deploy', '--ticket', 'CHG-2002']);
    const owner = await alice.cli(['request', 'approve', id]);
    expect(owner.code).toBe(2);
    expect(owner.stderr).toMatch(/alice (asked for this access|owns the bot carol)/);
    const bot = await carolBot.api('POST', `/api/requests/${id}/approve`, {});
    expect(bot).toMatchObject({ status: 403, body: { message: 'carol is a bot: bots never approve or deny requests' } });
    await approve(erin, id);

    const minted = await f.gateway.cli(['token', 'create', 'carol', '--request', id]);
    expect(minted.code, minted.stderr).toBe(0);
    const botToken = asIdentity(f.gateway, minted.stdout.trim());
    expect((await botToken.api('GET', '/api/me')).body).toMatchObject({ identity: { name: 'carol', kind: 'bot', owner: 'alice' } });
    const inventory = await f.gateway.cli(['bots', 'ls']);
    expect(inventory.stdout).toMatch(new RegExp(`carol\\s+alice\\s+brief,prod-access\\s+.*${id}`));

    const revoked = await dan.cli(['request', 'revoke', id, '--reason', 'deploy cancelled']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await botToken.api('GET', '/api/me')).status).toBe(401);
    const failure = (await store().audit.list({ type: 'auth.failure' })).at(-1);
    expect(failure?.data.reason).toMatch(new RegExp(`minted under request ${id}\\) was revoked`));
  });

  it('counts approvals when a role needs two, by two distinct approvers', async () => {
    const id = await create(alice, ['--target', 'prod2', '--reason', 'failover test']);
    expect(await approve(dan, id)).toMatch(/pending: .* approvals 1\/2/);
    const twice = await dan.cli(['request', 'approve', id]);
    expect(twice.stderr).toContain('dan already approved request');
    const stillDenied = await f.run(f.keys.alice, `${f.login}@prod2`, ['true']);
    expect(stillDenied.stderr).toContain('needs an approved request');
    expect(await approve(erin, id)).toMatch(new RegExp(`^request ${id} approved \\(2/2\\)`));
    const run = await f.run(f.keys.alice, `${f.login}@prod2`, ['echo', 'two-approvals']);
    expect(run.stdout.toString()).toBe('two-approvals\n');
    const listed = await dan.cli(['request', 'ls', '--state', 'approved']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+approved\\s+alice\\s+prod2\\s+login \\S+\\s+-\\s+2/2`));
  });

  it('revoking the request ends a live ssh -tt shell at once, with the request, the ticket, who and why', async () => {
    const id = await create(alice, ['--target', 'prod1', '--reason', 'investigate', '--ticket', 'CHG-3003']);
    await approve(dan, id);
    const term = spawnInPty(SSH, f.sshArgs(f.keys.alice, `${f.login}@prod1`, [], ['-tt']));
    await term.waitFor(/[#$] $/);
    term.write('echo still-here\r');
    await term.waitFor('still-here');
    const session = await liveSessionOn('prod1');
    const revoked = await dan.cli(['request', 'revoke', id, '--reason', 'incident closed']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('1 live session under it ended');
    await term.waitFor(`custos: access under request ${id} (CHG-3003) was revoked by dan: incident closed`);
    await term.exited;
    const row = await closed(session.id);
    expect(row.endReason).toBe(`access under request ${id} (CHG-3003) was revoked by dan: incident closed`);
    const end = (await store().audit.list({ type: 'grant.end' })).find((event) => event.data.request === id);
    expect(end).toMatchObject({ actor: 'dan', data: { kind: 'revoked', reason: 'incident closed' } });
    // New sessions under it are refused from that instant.
    expect((await f.run(f.keys.alice, `${f.login}@prod1`, ['true'])).stderr).toContain('needs an approved request');
  });

  it('at the end of its time the grant ends the shell (warned first) and the sweeper records the end once', async () => {
    const id = await create(alice, ['--target', 'prod1', '--reason', 'quick look', '--ticket', 'CHG-4004', '--duration', '4s']);
    await approve(dan, id);
    const term = spawnInPty(SSH, f.sshArgs(f.keys.alice, `${f.login}@prod1`, [], ['-tt']));
    // Less than five minutes are left from the start: the warning comes at once.
    await term.waitFor(new RegExp(`custos: access under request ${id} \\(CHG-4004\\) ends at \\S+ \\(in \\d+s\\); this session will be closed then`));
    const expired = await term.waitFor(new RegExp(`custos: access under request ${id} \\(CHG-4004\\) expired at \\S+Z`), 30_000);
    expect(expired).toBeTruthy();
    await term.exited;
    const detail = await waitFor(async () => {
      const found = await store().requests.get(id);
      return found?.request.state === 'expired' ? found : undefined;
    });
    expect(detail.grant).toMatchObject({ state: 'ended', endKind: 'expired' });
    const ends = (await store().audit.list({ type: 'grant.end' })).filter((event) => event.data.request === id);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ actor: 'gateway:test-node', data: { kind: 'expired' } });
  });

  it('takes requests through the SSH front door, authenticated by the key', async () => {
    const door = await f.run(f.keys.alice, 'request', ['prod1', '--reason', 'asked', 'over', 'ssh', '--ticket', 'CHG-5005']);
    expect(door.code, door.stderr).toBe(0);
    const id = /^(req_[a-z0-9]+)\n/.exec(door.stdout.toString())?.[1];
    expect(id).toBeDefined();
    expect(door.stdout.toString()).toContain(`${id} pending, 0/1 approvals (approvers: holders of approvers): login ${f.login} on prod1 for alice`);
    const detail = await store().requests.get(id!);
    expect(detail?.request).toMatchObject({ requestedBy: 'alice', reason: 'asked over ssh', ticket: 'CHG-5005' });
    const refused = await f.run(f.keys.alice, 'request', ['prod1', '--reason', 'no ticket']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('custos: role prod-access requires a ticket');
    const listed = await f.run(f.keys.alice, 'request', ['ls']);
    expect(listed.stdout.toString()).toContain(id!);
  });
});
