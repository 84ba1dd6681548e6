import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { auditEventHash, checkChainLink, type ChainedAuditEvent } from '../../core/audit-chain.js';
import type { CapturedParam } from '../../core/captured-param.js';
import { eventOfRecord } from '../audit-record.js';
import { CheckpointTracker, type Checkpoint } from '../chain-checkpoints.js';
import { KubeRequestDigest } from '../kube-request-digest.js';
import { QueryDigest } from '../query-digest.js';
import { sealOf, type SessionSeal } from '../session-seals.js';
import { BUNDLE_FILES, BUNDLE_FORMAT, type BundleManifest, type BundleSession } from './bundle-manifest.js';

/** A bundle unpacked into a directory, with the digest of every file as it was read from the archive. */
export interface ExtractedBundle {
  dir: string;
  /** In archive order. */
  files: Array<{ path: string; bytes: number; sha256: string }>;
}

export interface BundleVerdict {
  ok: boolean;
  /** What was checked, for the report. */
  lines: string[];
  /** The first thing that does not match, naming the file (and line or event). */
  problem: string | null;
  head: { seq: number; hash: string } | null;
}

class Mismatch extends Error {}

/**
 * Checks a bundle without the store: every file against the manifest; the chain segment
 * event by event (each hash recomputed, each link followed) to the head; each audit event
 * against the chain; each session row against its session.start and session.end events;
 * each recording against the digest its session.end sealed; each session's statements
 * against their sealed digest. Stops at the first thing that does not match and names it.
 */
export async function checkBundle(bundle: ExtractedBundle, options: { expectHeads: Checkpoint[] }): Promise<BundleVerdict> {
  const lines: string[] = [];
  let head: BundleVerdict['head'] = null;
  try {
    const manifest = await readManifest(bundle);
    lines.push(`bundle ${manifest.format}, created ${manifest.created_at} by ${manifest.created_by}; scope ${manifest.scope.identity ?? 'every identity'}, ${manifest.scope.since ?? 'the beginning'} to ${manifest.scope.until ?? 'the export'}`);
    checkFiles(bundle, manifest);
    lines.push(`files: ${manifest.files.length} match the manifest`);
    const chain = await checkChain(bundle, manifest, options.expectHeads);
    head = chain.head;
    lines.push(...chain.lines);
    lines.push(`audit events: ${await checkAuditEvents(bundle, chain.hashes)} match the chain`);
    const sessions = await checkSessions(bundle, chain.seals, chain.starts);
    lines.push(`sessions: ${sessions.checked} match their session.start and session.end events${sessions.live ? ` (${sessions.live} live at the export: not sealed)` : ''}`);
    lines.push(checkRecordings(manifest, chain.seals));
    lines.push(await checkQueries(bundle, chain.seals, sessions.databaseSessions));
    lines.push(await checkKubeRequests(bundle, chain.seals, sessions.kubernetesSessions));
    lines.push(`verified: the bundle is intact and links to head seq ${head.seq} hash ${head.hash}; compare it with a head kept outside the store`);
    return { ok: true, lines, problem: null, head };
  } catch (err) {
    if (err instanceof Mismatch) return { ok: false, lines, problem: err.message, head };
    throw err;
  }
}

async function readManifest(bundle: ExtractedBundle): Promise<BundleManifest> {
  if (!bundle.files.some((file) => file.path === BUNDLE_FILES.manifest)) throw new Mismatch(`${BUNDLE_FILES.manifest} is missing: this is not a Custos evidence bundle`);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(await readFile(join(bundle.dir, BUNDLE_FILES.manifest), 'utf8')) as BundleManifest;
  } catch (err) {
    throw new Mismatch(`${BUNDLE_FILES.manifest} is not valid JSON: ${(err as Error).message}`);
  }
  if (manifest.format !== BUNDLE_FORMAT || !Array.isArray(manifest.files)) throw new Mismatch(`${BUNDLE_FILES.manifest}: not a ${BUNDLE_FORMAT} manifest`);
  return manifest;
}

function checkFiles(bundle: ExtractedBundle, manifest: BundleManifest): void {
  const listed = new Map(manifest.files.map((file) => [file.path, file]));
  for (const file of bundle.files) {
    if (file.path === BUNDLE_FILES.manifest) continue;
    const expected = listed.get(file.path);
    if (!expected) throw new Mismatch(`${file.path} is in the bundle but not in its manifest`);
    if (expected.sha256 !== file.sha256 || expected.bytes !== file.bytes) {
      throw new Mismatch(`${file.path} was changed: ${file.bytes} bytes sha256 ${file.sha256}, the manifest says ${expected.bytes} bytes sha256 ${expected.sha256}`);
    }
  }
  const present = new Set(bundle.files.map((file) => file.path));
  for (const file of manifest.files) if (!present.has(file.path)) throw new Mismatch(`${file.path} is listed in the manifest but missing from the bundle`);
}

async function* jsonLines(bundle: ExtractedBundle, name: string): AsyncGenerator<{ line: number; value: unknown }> {
  if (!bundle.files.some((file) => file.path === name)) throw new Mismatch(`${name} is missing from the bundle`);
  const reader = createInterface({ input: createReadStream(join(bundle.dir, name)), crlfDelay: Infinity });
  let line = 0;
  for await (const text of reader) {
    line += 1;
    if (!text.trim()) continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch {
      throw new Mismatch(`${name} line ${line} is not JSON`);
    }
  }
}

async function checkChain(bundle: ExtractedBundle, manifest: BundleManifest, expectHeads: Checkpoint[]) {
  const hashes = new Map<number, string>();
  const seals = new Map<string, SessionSeal & { event: ChainedAuditEvent }>();
  const starts = new Map<string, ChainedAuditEvent>();
  const tracker = new CheckpointTracker(expectHeads);
  let previous: ChainedAuditEvent | null = null;
  let first: ChainedAuditEvent | null = null;
  for await (const { line, value } of jsonLines(bundle, BUNDLE_FILES.chain)) {
    const event = eventOfRecord(value);
    if (!event) throw new Mismatch(`${BUNDLE_FILES.chain} line ${line} is not an audit event record`);
    // The segment's first event links to the hash before it, which only the manifest names.
    const before = previous ?? ({ seq: event.seq - 1, hash: manifest.chain?.from_prev_hash ?? '' } as ChainedAuditEvent);
    const fault = checkChainLink(before.seq === 0 ? null : before, event);
    if (fault) throw new Mismatch(`${BUNDLE_FILES.chain} line ${line} (audit seq ${event.seq}): ${fault.message}`);
    first ??= event;
    hashes.set(event.seq, event.hash);
    tracker.see(event);
    const seal = sealOf(event);
    if (seal) seals.set(seal.sessionId, { ...seal, event });
    if (event.type === 'session.start' && event.sessionId) starts.set(event.sessionId, event);
    previous = event;
  }
  const claimed = manifest.chain;
  if (!previous || !first || !claimed) throw new Mismatch(`${BUNDLE_FILES.chain} holds no events`);
  if (first.seq !== claimed.from_seq) throw new Mismatch(`${BUNDLE_FILES.chain} starts at seq ${first.seq}, the manifest says ${claimed.from_seq}`);
  if (previous.seq !== claimed.head.seq || previous.hash !== claimed.head.hash) {
    throw new Mismatch(`${BUNDLE_FILES.chain} ends at seq ${previous.seq} hash ${previous.hash}, the manifest says head seq ${claimed.head.seq} hash ${claimed.head.hash}`);
  }
  const lines = [`audit chain segment: ${hashes.size} events, seq ${first.seq} to the head seq ${previous.seq} hash ${previous.hash}, every hash and link verified`];
  for (const result of tracker.finish(previous, true)) {
    if (result.seq < first.seq) throw new Mismatch(`expected head seq ${result.seq} (${result.source}) is before the bundle's chain segment (it starts at seq ${first.seq})`);
    if (!result.ok) throw new Mismatch(`expected head NOT in the bundle: ${result.message}`);
    lines.push(`expected head ${result.message}`);
  }
  return { hashes, seals, starts, head: { seq: previous.seq, hash: previous.hash }, lines };
}

async function checkAuditEvents(bundle: ExtractedBundle, chain: Map<number, string>): Promise<number> {
  let count = 0;
  for await (const { line, value } of jsonLines(bundle, BUNDLE_FILES.audit)) {
    const event = eventOfRecord(value);
    if (!event) throw new Mismatch(`${BUNDLE_FILES.audit} line ${line} is not an audit event record`);
    if (auditEventHash(event.seq, event.prevHash, event) !== event.hash) throw new Mismatch(`${BUNDLE_FILES.audit} line ${line} (audit seq ${event.seq}): the event was changed: its content does not match its hash`);
    const inChain = chain.get(event.seq);
    if (inChain === undefined) throw new Mismatch(`${BUNDLE_FILES.audit} line ${line} (audit seq ${event.seq}) is not in the bundle's chain segment`);
    if (inChain !== event.hash) throw new Mismatch(`${BUNDLE_FILES.audit} line ${line} (audit seq ${event.seq}) differs from event ${event.seq} of the chain`);
    count += 1;
  }
  return count;
}

async function checkSessions(bundle: ExtractedBundle, seals: Map<string, SessionSeal & { event: ChainedAuditEvent }>, starts: Map<string, ChainedAuditEvent>) {
  let checked = 0;
  let live = 0;
  const databaseSessions: string[] = [];
  const kubernetesSessions = new Set<string>();
  for await (const { line, value } of jsonLines(bundle, BUNDLE_FILES.sessions)) {
    const entry = value as BundleSession;
    const row = entry.session;
    const where = `${BUNDLE_FILES.sessions} line ${line} (session ${String(row?.id)})`;
    if (!row || typeof row.id !== 'string') throw new Mismatch(`${where} is not a session`);
    if (row.protocol === 'postgres') databaseSessions.push(row.id);
    if (row.protocol === 'kubernetes') kubernetesSessions.add(row.id);
    const start = starts.get(row.id);
    if (!start) throw new Mismatch(`${where}: its session.start event is not in the bundle's chain`);
    const data = start.data as Record<string, unknown>;
    const startFields: Array<[string, unknown, unknown]> = [
      ['identity', row.identityName, start.identity],
      ['target', row.target, start.target],
      ['protocol', row.protocol, data.protocol],
      ['credential', row.credentialId, data.credential],
      ['login', row.login, data.login],
      ['database', row.database, data.database],
      ['client address', row.clientAddr, data.clientAddr],
      ['node', row.node, data.node],
      ['start', row.startedAt, start.time],
    ];
    for (const [field, inRow, inEvent] of startFields) {
      if ((inRow ?? null) !== (inEvent ?? null)) throw new Mismatch(`${where}: ${field} ${JSON.stringify(inRow)} differs from its session.start event (audit seq ${start.seq}: ${JSON.stringify(inEvent)})`);
    }
    const seal = seals.get(row.id);
    if (!seal) {
      if (row.state !== 'live') throw new Mismatch(`${where}: the session is ${String(row.state)} but its end event is not in the bundle's chain`);
      live += 1;
      checked += 1;
      continue;
    }
    const end = seal.event;
    const endData = end.data as Record<string, unknown>;
    const endFields: Array<[string, unknown, unknown]> = [
      ['end', row.endedAt, end.time],
      ['end reason', row.endReason, endData.reason],
      ['state', row.state, end.type === 'session.interrupted' ? 'interrupted' : 'closed'],
    ];
    for (const [field, inRow, inEvent] of endFields) {
      if ((inRow ?? null) !== (inEvent ?? null)) throw new Mismatch(`${where}: ${field} ${JSON.stringify(inRow)} differs from its ${end.type} event (audit seq ${end.seq}: ${JSON.stringify(inEvent)})`);
    }
    for (const channel of entry.channels ?? []) {
      if (typeof channel.recordingSha256 !== 'string') continue;
      const sealed = seal.recordings.find((r) => r.channel === channel.channelId);
      if (!sealed || sealed.sha256 !== channel.recordingSha256) {
        throw new Mismatch(`${where}: channel ${channel.channelId} recording digest ${channel.recordingSha256} differs from the one sealed in ${end.type} (audit seq ${end.seq}: ${sealed?.sha256 ?? 'none'})`);
      }
    }
    checked += 1;
  }
  return { checked, live, databaseSessions, kubernetesSessions };
}

function checkRecordings(manifest: BundleManifest, seals: Map<string, SessionSeal & { event: ChainedAuditEvent }>): string {
  let sealed = 0;
  let unsealed = 0;
  for (const file of manifest.files) {
    if (file.kind !== 'recording') continue;
    const seal = file.session ? seals.get(file.session) : undefined;
    if (!seal) {
      unsealed += 1;
      continue;
    }
    const expected = seal.recordings.find((r) => r.channel === file.channel) ?? seal.recordings.find((r) => r.path.endsWith(`/${file.path.split('/').at(-1)}`));
    if (!expected) throw new Mismatch(`${file.path}: its session's ${seal.type} event (audit seq ${seal.seq}) seals no recording for channel ${String(file.channel)}`);
    if (expected.sha256 !== file.sha256 || expected.bytes !== file.bytes) {
      throw new Mismatch(`${file.path} does not match the digest sealed in ${seal.type} (audit seq ${seal.seq}): ${file.bytes} bytes sha256 ${file.sha256} in the bundle, ${expected.bytes} bytes sha256 ${expected.sha256} sealed`);
    }
    sealed += 1;
  }
  return `recordings: ${sealed} match the digests sealed in their session's end event${unsealed ? `; ${unsealed} of live sessions not sealed yet` : ''}`;
}

/** A file's records grouped by session, each session's in seq order; a record of a session that `belongs` rejects is a mismatch. */
async function recordsBySession(bundle: ExtractedBundle, name: string, what: string, belongs: (sessionId: string) => boolean) {
  const bySession = new Map<string, Array<{ line: number; record: Record<string, unknown> }>>();
  for await (const { line, value } of jsonLines(bundle, name)) {
    const record = value as Record<string, unknown>;
    if (typeof record?.session_id !== 'string' || typeof record.seq !== 'number') throw new Mismatch(`${name} line ${line} is not ${what}`);
    if (!belongs(record.session_id)) throw new Mismatch(`${name} line ${line}: session ${record.session_id} is not a session of the bundle that has them`);
    const list = bySession.get(record.session_id) ?? [];
    list.push({ line, record });
    bySession.set(record.session_id, list);
  }
  for (const list of bySession.values()) list.sort((a, b) => (a.record.seq as number) - (b.record.seq as number));
  return bySession;
}

type Seals = Map<string, SessionSeal & { event: ChainedAuditEvent }>;

/** One kind of sealed row log in a bundle: its file, what its seal says, and how its digest is recomputed. */
interface SealedLog<Digest extends { count: number; finish(): string }> {
  file: string;
  /** Plural noun for the rows ("statements", "requests"). */
  rows: string;
  sealed(seal: SessionSeal): { count: number; digest: string } | null;
  digest(): Digest;
  /** A record of the export into the digest, as the row it was computed over. */
  add(digest: Digest, record: Record<string, unknown>): void;
  /** Where a session's rows stand in the file, for the message. */
  lines(lines: number[]): string;
}

/** Each ended session's rows of a log against the digest its end event sealed; the first mismatch named. */
async function checkSealedLog<Digest extends { count: number; finish(): string }>(bundle: ExtractedBundle, seals: Seals, sessionIds: Iterable<string>, log: SealedLog<Digest>, belongs: (sessionId: string) => boolean) {
  const bySession = await recordsBySession(bundle, log.file, `a record of ${log.rows}`, belongs);
  let sessions = 0;
  let rows = 0;
  for (const sessionId of sessionIds) {
    const seal = seals.get(sessionId);
    const sealed = seal ? log.sealed(seal) : null;
    if (!seal || !sealed) continue;
    const records = bySession.get(sessionId) ?? [];
    const digest = log.digest();
    for (const { record } of records) log.add(digest, record);
    const actual = digest.finish();
    if (actual !== sealed.digest || digest.count !== sealed.count) {
      const lines = records.length ? `, lines ${log.lines(records.map((r) => r.line))}` : '';
      throw new Mismatch(
        `${log.file} (session ${sessionId}${lines}): the ${log.rows} do not match the digest sealed in ${seal.type} (audit seq ${seal.seq}): ${digest.count} ${log.rows} ${actual} in the bundle, ${sealed.count} ${log.rows} ${sealed.digest} sealed`,
      );
    }
    sessions += 1;
    rows += digest.count;
  }
  return { sessions, rows };
}

async function checkQueries(bundle: ExtractedBundle, seals: Seals, databaseSessions: string[]): Promise<string> {
  const { sessions, rows } = await checkSealedLog(bundle, seals, databaseSessions, {
    file: BUNDLE_FILES.queries,
    rows: 'statements',
    sealed: (seal) => (seal.queries ? { count: seal.queries.statements, digest: seal.queries.digest } : null),
    digest: () => new QueryDigest(),
    add: (digest, record) => digest.add(rowOf(record)),
    lines: (lines) => `${lines[0]}–${lines.at(-1)}`,
  }, () => true);
  return `query logs: ${sessions} sessions (${rows} statements) match the digests sealed in their session.end`;
}

/**
 * Each Kubernetes request belongs to a Kubernetes session of the bundle, and each ended
 * session's requests match the digest its end event sealed.
 */
async function checkKubeRequests(bundle: ExtractedBundle, seals: Seals, kubernetesSessions: Set<string>): Promise<string> {
  const { sessions, rows } = await checkSealedLog(bundle, seals, kubernetesSessions, {
    file: BUNDLE_FILES.kubeRequests,
    rows: 'requests',
    sealed: (seal) => (seal.kubeRequests ? { count: seal.kubeRequests.requests, digest: seal.kubeRequests.digest } : null),
    digest: () => new KubeRequestDigest(),
    add: (digest, record) => digest.add(kubeRowOf(record)),
    // Requests are exported by id and digested by seq: their lines need not be consecutive.
    lines: (lines) => lines.join(', '),
  }, (sessionId) => kubernetesSessions.has(sessionId));
  return `kubernetes requests: ${sessions} sessions (${rows} requests) match the digests sealed in their session.end`;
}

/** A Kubernetes request record of the export back into the row its digest was computed over. */
function kubeRowOf(record: Record<string, unknown>) {
  const text = (value: unknown) => (value ?? null) as string | null;
  return {
    sessionId: record.session_id as string,
    seq: record.seq as number,
    identityId: record.identity_id as string,
    identityName: record.identity as string,
    target: record.target as string,
    method: record.method as string,
    verb: record.verb as string,
    apiGroup: record.api_group as string,
    apiVersion: record.api_version as string,
    resource: record.resource as string,
    subresource: record.subresource as string,
    namespace: record.namespace as string,
    name: record.name as string,
    path: record.path as string,
    decision: record.decision as 'allowed' | 'denied',
    reason: text(record.reason),
    kubeUser: text(record.kube_user),
    kubeGroups: (record.kube_groups ?? null) as string[] | null,
    startedAt: new Date(record.started_at as string),
    code: (record.code ?? null) as number | null,
    durationMs: (record.duration_ms ?? null) as number | null,
    requestBytes: (record.request_bytes ?? null) as number | null,
    responseBytes: (record.response_bytes ?? null) as number | null,
    clientAddr: text(record.client_addr),
    userAgent: text(record.user_agent),
    details: (record.details ?? null) as Record<string, unknown> | null,
  };
}

/** A statement record of the export back into the stored row the digest was computed over. */
function rowOf(record: Record<string, unknown>) {
  return {
    sessionId: record.session_id as string,
    seq: record.seq as number,
    identityId: record.identity_id as string,
    identityName: record.identity as string,
    target: record.target as string,
    database: record.database as string,
    dbUser: record.db_user as string,
    protocol: record.protocol as 'simple',
    statement: record.statement as string,
    params: (record.params ?? null) as CapturedParam[] | null,
    startedAt: new Date(record.started_at as string),
    durationMs: (record.duration_ms ?? null) as number | null,
    commandTag: (record.command_tag ?? null) as string | null,
    rowCount: (record.row_count ?? null) as number | null,
    status: record.status as 'ok',
    sqlstate: (record.sqlstate ?? null) as string | null,
    errorMessage: (record.error_message ?? null) as string | null,
    details: (record.details ?? null) as Record<string, unknown> | null,
  };
}
