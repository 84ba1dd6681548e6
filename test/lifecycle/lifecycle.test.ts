import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runOperation } from '../../src/admin/operations.js';
import { silentLogger } from '../../src/core/logger.js';
import { AccessControl } from '../../src/policy/access-control.js';
import type { Credential, Decision, Identity } from '../../src/policy/model.js';
import type { Ending } from '../../src/proxy/lifecycle/ending.js';
import type { LiveSession } from '../../src/proxy/lifecycle/live-session.js';
import { SessionLifecycle } from '../../src/proxy/lifecycle/session-lifecycle.js';
import { AuditLog } from '../../src/recorder/audit-log.js';
import { SessionLog } from '../../src/recorder/session-log.js';
import { requestSessionTermination } from '../../src/recorder/session-termination.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, openBackend, stopSharedPostgres, type StoreBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';

afterAll(() => stopSharedPostgres());

const RESOURCES = `
kind: target
name: db1
spec: { protocol: postgres, address: 127.0.0.1:5432, labels: { env: test } }
---
kind: role
name: dev
spec: { targets: { env: test }, dbUsers: [app] }
---
kind: identity
name: alice
spec: { kind: human, roles: [dev] }
`;

/** A protocol stand-in: records what the lifecycle asks of it and closes when told to end. */
function attach(session: LiveSession) {
  const seen = { endings: [] as Ending[], warnings: [] as string[] };
  session.handle({
    terminate: (ending) => {
      seen.endings.push(ending);
      void session.close({ reason: 'the protocol saw the end' });
    },
    warn: (message) => seen.warnings.push(message),
  });
  return seen;
}

describe.each(BACKENDS)('session lifecycle on %s', (kind) => {
  let backend: StoreBackend;
  let lifecycle: SessionLifecycle;
  let access: AccessControl;
  let audit: AuditLog;
  let identity: Identity;
  let credential: Credential;
  let decision: Decision;

  const op = (store: Store, name: string, args: Record<string, unknown>) =>
    runOperation({ store, actor: 'os:tester@host', config: {} as never }, name, args);

  const open = (overrides: Partial<Decision> = {}, cred: Credential = credential) => {
    const id = lifecycle.newSessionId();
    return lifecycle.open({
      id,
      protocol: 'postgres',
      identity,
      credential: cred,
      target: { name: 'db1', address: '127.0.0.1:5432' },
      action: { kind: 'postgres.connect', dbUser: 'app' },
      decision: { ...decision, ...overrides },
      login: 'app',
      database: 'db1',
    });
  };
  const events = async (sessionId: string) => (await backend.store.audit.list({ sessionId, limit: 100 })).map((event) => event.type);

  beforeEach(async () => {
    backend = await openBackend(kind);
    await op(backend.store, 'apply', { files: [{ source: 'test.yaml', text: RESOURCES }] });
    const token = (await op(backend.store, 'token.create', { identity: 'alice', ttl: '1h' })) as { id: string; token: string };
    audit = new AuditLog(backend.store);
    access = new AccessControl(backend.store, (event) => audit.record(event));
    ({ identity, credential } = await access.identityForToken(token.token));
    ({ decision } = await access.authorize({ identity, credential, targetName: 'db1', action: { kind: 'postgres.connect' }, protocol: 'postgres' }));
    expect(decision.allow).toBe(true);
    lifecycle = new SessionLifecycle({ access, log: new SessionLog(backend.store), audit, node: 'node-a', logger: silentLogger, control: backend.store.control, progressIntervalMs: 50 });
    await lifecycle.start();
  });
  afterEach(async () => {
    await lifecycle.stop();
    await backend.close();
  });

  it('writes the end after the start, exactly once, even when the protocol closes before the start is written', async () => {
    const session = open();
    const first = session.close({ reason: 'the client left at once' });
    const second = session.close({ reason: 'and again' });
    await Promise.all([first, second]);
    expect(await events(session.id)).toEqual(['session.start', 'session.end']);
    expect(await backend.store.sessions.get(session.id)).toMatchObject({ state: 'closed', endReason: 'the client left at once' });
    expect(lifecycle.size).toBe(0);
  });

  it('shows live progress while the session runs', async () => {
    const session = open();
    attach(session);
    session.progress = () => ({ statements: 3 });
    session.transferred(100, 20);
    const row = await waitFor(async () => {
      const found = await backend.store.sessions.get(session.id);
      return found?.lastActivityAt ? found : undefined;
    }, { what: 'live progress to be written', timeoutMs: 30_000 });
    expect(row.stats).toMatchObject({ bytesToClient: 100, bytesFromClient: 20, statements: 3 });
    await session.close({ reason: 'done' });
  });

  it('ends a session held here when any process sharing the store asks (session.terminate)', async () => {
    const session = open();
    const seen = attach(session);
    await session.opened;
    const other = kind === 'postgres' ? await backend.openAnother() : backend.store;
    const outcome = await requestSessionTermination(other, { sessionId: session.id, actor: 'os:root@elsewhere', reason: 'incident 42' });
    expect(outcome).toMatchObject({ ended: true, endReason: 'ended by os:root@elsewhere: incident 42', node: 'node-a' });
    expect(seen.endings).toEqual([expect.objectContaining({ kind: 'terminated', message: 'session ended by os:root@elsewhere: incident 42' })]);
    expect(await events(session.id)).toEqual(['session.start', 'session.terminate', 'session.end']);
    await expect(requestSessionTermination(other, { sessionId: session.id, actor: 'x', reason: 'y' })).rejects.toThrow(/is not live/);
  });

  it('ends the sessions of a revoked token, and only those', async () => {
    const other = (await op(backend.store, 'token.create', { identity: 'alice', ttl: '1h' })) as { id: string };
    const revoked = open();
    const kept = open({}, { id: other.id, kind: 'token', expiresAt: null });
    const seenRevoked = attach(revoked);
    const seenKept = attach(kept);
    await Promise.all([revoked.opened, kept.opened]);
    await op(backend.store, 'token.revoke', { id: credential.id, reason: 'laptop lost' });
    await waitFor(() => seenRevoked.endings.length === 1, { what: 'the session to end', timeoutMs: 5000 });
    expect(seenRevoked.endings[0]).toMatchObject({ kind: 'revoked', reason: `access revoked: token ${credential.id} was revoked` });
    await waitFor(async () => (await events(revoked.id)).includes('session.end'), { what: 'the end to be written' });
    expect(await events(revoked.id)).toEqual(['session.start', 'access.revoked', 'session.end']);
    const [event] = await backend.store.audit.list({ sessionId: revoked.id, type: 'access.revoked' });
    expect(event?.actor).toBe('os:tester@host');
    expect(seenKept.endings).toEqual([]);
    await kept.close({ reason: 'done' });
  });

  it('ends a session when a role change no longer allows it', async () => {
    const session = open();
    const seen = attach(session);
    await session.opened;
    await op(backend.store, 'apply', { files: [{ source: 'test.yaml', text: RESOURCES.replace('dbUsers: [app]', 'dbUsers: [app_ro]') }] });
    await waitFor(() => seen.endings.length === 1, { what: 'the session to end', timeoutMs: 5000 });
    expect(seen.endings[0]!.reason).toMatch(/^access revoked: database user "app" is not allowed on this target/);
  });

  it('ends a session at its deadline, and at its credential expiry when that comes first', async () => {
    const ttl = open({ expiresAt: new Date(Date.now() + 200), roles: ['dev'] });
    const byTtl = attach(ttl);
    const expiring = open({ expiresAt: new Date(Date.now() + 60_000) }, { ...credential, expiresAt: new Date(Date.now() + 200) });
    const byCredential = attach(expiring);
    await waitFor(() => byTtl.endings.length === 1 && byCredential.endings.length === 1, { what: 'both deadlines', timeoutMs: 5000 });
    expect(byTtl.endings[0]!.reason).toBe('the session reached its maximum lifetime (maxSessionTTL of role dev)');
    expect(byCredential.endings[0]!.reason).toMatch(new RegExp(`^the credential of the session \\(${credential.id}\\) expired at `));
    await lifecycle.idle();
  });

  it('drains on shutdown: warns once, waits for the grace, then ends what remains; refuses new sessions', async () => {
    const session = open();
    const seen = attach(session);
    await session.opened;
    const drained = lifecycle.drain(300);
    expect(seen.warnings).toEqual(['gateway shutting down in 1s']);
    await drained;
    expect(seen.endings).toEqual([expect.objectContaining({ kind: 'shutdown', reason: 'the gateway shut down' })]);
    const late = open();
    expect(late.termination).toMatchObject({ kind: 'shutdown' });
    await late.close({ reason: 'refused' });
  });

  it('cuts the grace short when told to stop now', async () => {
    const session = open();
    const seen = attach(session);
    await session.opened;
    let now!: () => void;
    const drained = lifecycle.drain(60_000, new Promise((resolve) => (now = resolve)));
    now();
    await drained;
    expect(seen.endings).toHaveLength(1);
  });

  it('closes sessions a dead process of this node left live as interrupted', async () => {
    const session = open();
    await session.opened;
    const restarted = new SessionLifecycle({ access, log: new SessionLog(backend.store), audit, node: 'node-a', logger: silentLogger });
    expect(await restarted.recover()).toBe(1);
    expect(await backend.store.sessions.get(session.id)).toMatchObject({ state: 'interrupted', endReason: 'the gateway stopped while the session was live' });
    expect(await events(session.id)).toEqual(['session.start', 'session.interrupted']);
  });
});

describe.each(BACKENDS)('session time filters on %s', (kind) => {
  let backend: StoreBackend;
  beforeEach(async () => {
    backend = await openBackend(kind);
  });
  afterEach(() => backend.close());

  it('select every session whose span [start, end or now] overlaps the window, at the edges too', async () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute));
    const log = new SessionLog(backend.store);
    const make = async (id: string, start: number, end: number | null) => {
      await log.open({
        id,
        protocol: 'ssh',
        identity: { id: 'idn_1', name: 'alice', kind: 'human', owner: null, roles: [] },
        credential: { id: 'ssh-key:x', kind: 'ssh-key' },
        target: { name: 'web1', address: 'h:22' },
        node: 'n',
        roles: [],
        startedAt: at(start),
      });
      if (end !== null) await log.end({ id, identityName: 'alice', target: 'web1', protocol: 'ssh' }, { state: 'closed', reason: 'x', endedAt: at(end) });
    };
    await make('before', 0, 9); // ended before the window
    await make('into', 5, 10); // started before, ended exactly at its start
    await make('across', 5, 40); // spans the whole window
    await make('inside-live', 15, null); // started inside, still live
    await make('at-end', 30, 35); // started exactly at its end
    await make('after', 31, 32); // started after the window
    const ids = async (since: Date, until: Date) => (await backend.store.sessions.list({ since, until })).map((row) => row.id).sort();
    expect(await ids(at(10), at(30))).toEqual(['across', 'at-end', 'inside-live', 'into']);
    expect((await backend.store.viewer.sessionsPage({ identityIds: null }, { since: at(10), until: at(30), limit: 100 })).map((row) => row.id).sort()).toEqual([
      'across',
      'at-end',
      'inside-live',
      'into',
    ]);
  });
});
