import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { runOperation } from '../../src/admin/operations.js';
import type { GatewayConfig } from '../../src/core/config.js';
import type { RecordingTags } from '../../src/recorder/asciicast.js';
import { FRAME_HEADER_BYTES, headerBytes, writeFrameHeader, type FrameStream } from '../../src/recorder/byte-recording.js';
import { createToken } from '../../src/policy/tokens.js';
import { SessionLog } from '../../src/recorder/session-log.js';
import type { CapturedParam } from '../../src/store/schema/queries.js';
import type { Store } from '../../src/store/store.js';

/**
 * Evidence for viewer tests, written the way the proxies write it: session rows opened and
 * ended through SessionLog (with their audit events and recording digests), asciicast v2
 * files under the recordings directory, query rows through the query repository. A test
 * that can record through the real SSH or PostgreSQL path should do that instead and keep
 * using the identity and sign-in helpers here.
 */

export type CastEvent = [time: number, code: 'o' | 'i' | 'r' | 'm', data: string];

export function castText(events: CastEvent[], header: { width?: number; height?: number; custos?: RecordingTags | Record<string, unknown> } = {}): string {
  const head = { version: 2, width: header.width ?? 80, height: header.height ?? 24, timestamp: 1_700_000_000, ...(header.custos ? { custos: header.custos } : {}) };
  return [JSON.stringify(head), ...events.map((event) => JSON.stringify(event))].join('\n') + '\n';
}

export function writeCast(path: string, events: CastEvent[], header: Parameters<typeof castText>[1] = {}): { bytes: number; sha256: string } {
  mkdirSync(dirname(path), { recursive: true });
  const text = castText(events, header);
  writeFileSync(path, text);
  return digestOf(path);
}

/** A byte recording (a channel without a terminal): `[seconds, stream, payload]` frames. */
export type ByteFrame = [time: number, stream: FrameStream, data: Buffer];

export function writeByteRecording(path: string, frames: ByteFrame[], custos: RecordingTags, command: string | null): void {
  mkdirSync(dirname(path), { recursive: true });
  const parts = [headerBytes({ version: 1, timestamp: 1_700_000_000, ...(command ? { command } : {}), env: {}, custos })];
  for (const [time, stream, data] of frames) {
    const head = Buffer.alloc(FRAME_HEADER_BYTES);
    writeFrameHeader(head, 0, stream, time * 1e6, data.length);
    parts.push(head, data);
  }
  writeFileSync(path, Buffer.concat(parts));
}

export function appendCastEvents(path: string, events: CastEvent[]): void {
  appendFileSync(path, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
}

export function digestOf(path: string): { bytes: number; sha256: string } {
  const data = readFileSync(path);
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

export interface FixtureIdentity {
  id: string;
  name: string;
  kind: 'human' | 'bot';
  owner: string | null;
  roles: string[];
}

export interface ViewerRightsSpec {
  sessions?: 'none' | 'own' | 'all';
  queries?: 'none' | 'own' | 'all';
  audit?: boolean;
}

/** Declares a role (optionally with viewer rights) and an identity holding it; returns a token. */
export async function createIdentity(
  store: Store,
  config: GatewayConfig,
  spec: { name: string; viewer?: ViewerRightsSpec; kind?: 'human' | 'bot'; owner?: string },
): Promise<{ identity: FixtureIdentity; token: string }> {
  const role = `viewer-${spec.name.replace(/[^A-Za-z0-9-]/g, '-')}`;
  const documents = [
    { kind: 'role', name: role, spec: { ...(spec.viewer ? { viewer: spec.viewer } : {}) } },
    {
      kind: 'identity',
      name: spec.name,
      spec: { kind: spec.kind ?? 'human', roles: [role], ...(spec.owner ? { owner: spec.owner } : {}) },
    },
  ];
  const text = documents.map((doc) => stringify(doc)).join('---\n');
  await runOperation({ store, config, actor: 'test:fixtures' }, 'apply', { files: [{ source: `${spec.name}.yaml`, text }] });
  const row = await store.resources.identityByName(spec.name);
  if (!row) throw new Error(`identity ${spec.name} was not created`);
  const created = await createToken(store, { identity: spec.name, ttlMs: 3_600_000, actor: 'test:fixtures' });
  return { identity: { id: row.id, name: row.name, kind: row.kind, owner: row.owner, roles: row.roles }, token: created.token };
}

export interface FixtureSession {
  identity: FixtureIdentity;
  id?: string;
  protocol?: 'ssh' | 'postgres' | 'kubernetes';
  target?: string;
  login?: string | null;
  clientAddr?: string;
  ticket?: string | null;
  startedAt?: Date;
  endedAt?: Date;
  /** `live` leaves the session open (its recording may keep growing). */
  state?: 'live' | 'closed' | 'interrupted';
  endReason?: string;
  /** Events of the shell channel's recording (channel 0); none (and no frames) means no recording. */
  events?: CastEvent[];
  /** Channel 0 had no terminal: its byte recording's frames (instead of `events`). */
  frames?: ByteFrame[];
  header?: Parameters<typeof castText>[1];
  channelKind?: string;
  command?: string | null;
  /** The channel had a pseudo-terminal (default); without one, output lines end in a bare "\n". */
  pty?: boolean;
}

/** Where the SSH proxy puts a channel's recording: `<recordings.dir>/<YYYY-MM-DD>/<session>.<channel>.cast` (or `.bytes`). */
export function recordingPathFor(recordingsDir: string, sessionId: string, startedAt: Date, channelId = 0, extension = 'cast'): string {
  return join(recordingsDir, startedAt.toISOString().slice(0, 10), `${sessionId}.${channelId}.${extension}`);
}

/**
 * Opens (and unless live, ends) a session with a channel 0 recording, as the SSH front end
 * would: the recording's header carries the evidence tags, the session row names it as the
 * session's main recording while live, and the end seals its digest as both.
 */
export async function recordSession(store: Store, recordingsDir: string, fixture: FixtureSession): Promise<{ id: string; recordingPath: string | null }> {
  const id = fixture.id ?? `ses_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const startedAt = fixture.startedAt ?? new Date();
  const credential = `ssh-key:SHA256:fixture-${fixture.identity.name}`;
  const login = fixture.login === undefined ? 'deploy' : fixture.login;
  const clientAddr = fixture.clientAddr ?? '127.0.0.1:50000';
  const grant = fixture.ticket
    ? { id: `grant-${id}`, request: `req-${id}`, ticket: fixture.ticket, approvers: ['fixture-approver'], until: new Date(startedAt.getTime() + 3_600_000) }
    : null;
  const log = new SessionLog(store);
  await log.open({
    id,
    protocol: fixture.protocol ?? 'ssh',
    identity: fixture.identity,
    credential: { id: credential, kind: 'ssh-key' },
    target: { name: fixture.target ?? 'web1', address: '127.0.0.1:22' },
    login,
    clientAddr,
    node: 'test-node',
    grant,
    roles: fixture.identity.roles,
    startedAt,
  });
  let recordingPath: string | null = null;
  if (fixture.events || fixture.frames) {
    recordingPath = recordingPathFor(recordingsDir, id, startedAt, 0, fixture.frames ? 'bytes' : 'cast');
    const custos: RecordingTags = {
      sessionId: id,
      channelId: 0,
      channelKind: fixture.channelKind ?? 'shell',
      protocol: fixture.protocol ?? 'ssh',
      identity: { name: fixture.identity.name, kind: fixture.identity.kind, owner: fixture.identity.owner },
      credential,
      target: fixture.target ?? 'web1',
      login,
      grant: grant ? { id: grant.id, ticket: grant.ticket } : null,
      node: 'test-node',
      clientAddr,
      recordInput: true,
      pty: fixture.frames ? false : (fixture.pty ?? true),
    };
    if (fixture.frames) writeByteRecording(recordingPath, fixture.frames, custos, fixture.command ?? null);
    else writeCast(recordingPath, fixture.events!, { custos, ...fixture.header });
    await store.sessions.addChannel({
      sessionId: id,
      channelId: 0,
      kind: fixture.channelKind ?? 'shell',
      command: fixture.command ?? null,
      pty: fixture.pty === false || fixture.frames ? null : { term: 'xterm-256color', cols: fixture.header?.width ?? 80, rows: fixture.header?.height ?? 24 },
      startedAt,
      endedAt: null,
      exitCode: null,
      exitSignal: null,
      recordingPath,
      recordingBytes: null,
      recordingSha256: null,
    });
    await store.sessions.setRecordingPath(id, recordingPath);
  }
  if ((fixture.state ?? 'closed') !== 'live') {
    await endSession(store, id, fixture, recordingPath);
  }
  return { id, recordingPath };
}

/** Ends a fixture session: channel sealed with its digest, `session.end` carrying it. */
export async function endSession(store: Store, id: string, fixture: FixtureSession, recordingPath: string | null): Promise<void> {
  const endedAt = fixture.endedAt ?? new Date();
  const digest = recordingPath ? { path: recordingPath, ...digestOf(recordingPath) } : null;
  if (digest) {
    await store.sessions.updateChannel(id, 0, { endedAt, exitCode: 0, recordingBytes: digest.bytes, recordingSha256: digest.sha256 });
  }
  await new SessionLog(store).end(
    { id, identityName: fixture.identity.name, target: fixture.target ?? 'web1', protocol: fixture.protocol ?? 'ssh' },
    {
      state: fixture.state === 'interrupted' ? 'interrupted' : 'closed',
      reason: fixture.endReason ?? 'client disconnected',
      endedAt,
      recording: digest,
      channelRecordings: digest ? [{ channelId: 0, ...digest }] : [],
    },
  );
}

export interface FixtureQuery {
  statement: string;
  params?: CapturedParam[] | null;
  status?: 'ok' | 'error';
  errorMessage?: string | null;
  startedAt?: Date;
  target?: string;
}

/** Statements of one PostgreSQL session, as the query log would batch them. */
export async function recordQueries(store: Store, sessionId: string, identity: FixtureIdentity, queries: FixtureQuery[]): Promise<void> {
  await store.queries.insert(
    queries.map((query, seq) => ({
      sessionId,
      seq: seq + 1,
      identityId: identity.id,
      identityName: identity.name,
      target: query.target ?? 'db1',
      database: 'app',
      dbUser: 'app_rw',
      protocol: query.params ? ('extended' as const) : ('simple' as const),
      statement: query.statement,
      params: query.params ?? null,
      startedAt: query.startedAt ?? new Date(),
      durationMs: 1.5,
      commandTag: query.status === 'error' ? null : 'SELECT 1',
      rowCount: query.status === 'error' ? null : 1,
      status: query.status ?? 'ok',
      sqlstate: query.status === 'error' ? '42P01' : null,
      errorMessage: query.errorMessage ?? null,
      details: null,
    })),
  );
}

/** Signs in over HTTP as a browser would; returns the cookie and CSRF token. */
export async function signIn(baseUrl: string, identity: string, token: string): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity, token }),
  });
  if (response.status !== 200) throw new Error(`sign-in as ${identity} failed: ${response.status} ${await response.text()}`);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const body = (await response.json()) as { csrfToken: string };
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrfToken };
}

/**
 * Bulk session rows written straight into a store no gateway holds (multi-row inserts), for
 * scale tests and benchmarks. Deterministic: session i starts `i` minutes after `from`,
 * belongs to identities[i % n], every 10th is live, every 7th carries ticket `T-<i % 100>`.
 */
export async function insertManySessions(
  storeUrl: string,
  count: number,
  identities: FixtureIdentity[],
  from = Date.parse('2024-01-01T00:00:00Z'),
): Promise<void> {
  const { connectDatabase } = await import('../../src/store/connect.js');
  const { sessions } = await import('../../src/store/schema/index.js');
  const { sql } = await import('drizzle-orm');
  const database = await connectDatabase(storeUrl);
  try {
    // One transaction, indexes rebuilt once at the end instead of maintained per row.
    await database.db.transaction(async (tx) => {
      const indexes = (await tx.execute(
        sql`select indexname, indexdef from pg_indexes where tablename = 'sessions' and indexname <> 'sessions_pkey'`,
      )) as unknown as { rows: Array<{ indexname: string; indexdef: string }> };
      for (const index of indexes.rows) await tx.execute(sql.raw(`drop index "${index.indexname}"`));
      for (let start = 0; start < count; start += 2000) {
        const rows = [];
        for (let i = start; i < Math.min(count, start + 2000); i++) {
          const identity = identities[i % identities.length]!;
          const startedAt = new Date(from + i * 60_000);
          const live = i % 10 === 0;
          rows.push({
            id: `ses_bulk${String(i).padStart(8, '0')}`,
            protocol: (i % 3 === 0 ? 'postgres' : 'ssh') as 'postgres' | 'ssh',
            state: (live ? 'live' : 'closed') as 'live' | 'closed',
            identityId: identity.id,
            identityName: identity.name,
            identityKind: identity.kind,
            identityOwner: identity.owner,
            credentialId: `ssh-key:SHA256:bulk-${identity.name}`,
            target: `web${i % 50}`,
            targetAddress: '10.0.0.1:22',
            login: 'deploy',
            database: null,
            clientAddr: '127.0.0.1:40000',
            node: 'bulk',
            grantId: null,
            ticket: i % 7 === 0 ? `T-${i % 100}` : null,
            startedAt,
            endedAt: live ? null : new Date(startedAt.getTime() + 30_000),
            expiresAt: null,
            endReason: live ? null : 'client disconnected',
            recordingPath: null,
            recordingBytes: null,
            recordingSha256: null,
            stats: {},
          });
        }
        await tx.insert(sessions).values(rows);
      }
      for (const index of indexes.rows) await tx.execute(sql.raw(index.indexdef));
    });
  } finally {
    await database.close();
  }
}
