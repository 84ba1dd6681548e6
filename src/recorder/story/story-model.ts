import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { SessionDetail } from '../../store/repositories/sessions.js';
import type { Store } from '../../store/store.js';

export const STORY_SCHEMA = 'custos.story/1';

export type StoryProtocol = 'ssh' | 'postgres' | 'kubernetes';

/**
 * One thing that happened, with the ids that lead to its evidence. The field names are the
 * story's JSON lines format (`custos story --format jsonl`, the bundle's story.jsonl):
 * stable, snake_case, null when they do not apply.
 */
export interface StoryEntry {
  /** ISO 8601 UTC. */
  time: string;
  /**
   * What it is: an audit event's type for what the audit chain records (`permission.grant`,
   * `request.approve`, `access.deny`, `auth.failure` …), or `session.start`, `session.end`,
   * `session.interrupted`, `channel`, `command`, `file`, `forward`, `statement`,
   * `kubernetes.request` for what happened inside sessions.
   */
  kind: string;
  /** The identity it is about. */
  identity: string | null;
  /** Who did it (the identity itself, an approver, `os:root@gw1`, `gateway:gw1` …). */
  actor: string | null;
  protocol: StoryProtocol | null;
  target: string | null;
  /** One line for a person; built from recorded values (escape before showing). */
  summary: string;
  session_id: string | null;
  channel_id: number | null;
  /** The recording that holds it: its file name in the recordings directory, and its sealed digest. */
  recording: { file: string; sha256: string | null } | null;
  request_id: string | null;
  grant_id: string | null;
  ticket: string | null;
  /** The audit events that record it (seq in the hash chain). */
  audit_seqs: number[];
  /** A captured statement's id (`custos queries`) and seq in its session. */
  query: { id: number; seq: number } | null;
  /** A Kubernetes API request's id (`custos kube-requests`) and seq in its session. */
  kube_request: { id: number; seq: number } | null;
  details: Record<string, unknown>;
}

/** The identity a story is about, as it is now, with what proves it and who approved it. */
export interface StoryIdentity {
  name: string;
  /** False when the identity was deleted since (the story still has its history). */
  exists: boolean;
  kind: 'human' | 'bot' | null;
  owner: string | null;
  roles: string[];
  /** The bots it owns (a human). */
  bots: string[];
  /** Its tokens, and for one minted under an access request the humans who approved it. */
  credentials: StoryCredential[];
}

export interface StoryCredential {
  token_id: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  request: {
    id: string;
    requested_by: string;
    reason: string;
    ticket: string | null;
    state: string;
    approvals: Array<{ approver: string; decision: string; reason: string | null; at: string }>;
    grant: { id: string; from: string; until: string; state: string } | null;
  } | null;
}

export interface Story {
  schema: typeof STORY_SCHEMA;
  generated_at: string;
  /** Null: every identity (`custos export --all`). */
  identity: StoryIdentity | null;
  window: { since: string | null; until: string | null };
  /** Set when only entries of this protocol were asked for. */
  protocol: StoryProtocol | null;
  /** The head of the audit chain when the story was read. */
  head: { seq: number; hash: string } | null;
  /** Sessions in the story (overlapping the window). */
  sessions: number;
  entries: StoryEntry[];
  /** More entries than `maxEntries`: the newest were left out. */
  truncated: boolean;
}

export type StoryStore = Pick<Store, 'audit' | 'sessions' | 'queries' | 'kubeRequests' | 'tokens' | 'requests' | 'resources'>;

export interface StoryWindow {
  since: Date | null;
  until: Date | null;
}

/** What every source reads from: the window, whose story, and the sessions in it (read once). */
export interface StoryContext {
  store: StoryStore;
  identity: string | null;
  window: StoryWindow;
  /** Sessions overlapping the window, with their channels, file operations and port forwards. */
  sessions: SessionDetail[];
  /** Every audit event of those sessions (whole sessions, whatever the window), by session id. */
  sessionEvents: Map<string, ChainedAuditEvent[]>;
  statements: boolean;
  /** Recordings are read (typed commands) only inside this directory. */
  recordingsDir: string;
}

/**
 * One kind of evidence turned into story entries: audit history, sessions, what happened
 * inside sessions, statements, Kubernetes requests. Sources do
 * not overlap: each fact comes from exactly one of them.
 */
export interface StorySource {
  name: string;
  entries(context: StoryContext): Promise<StoryEntry[]>;
}

/** An entry with the fields a source does not set left empty. */
export function storyEntry(fields: Partial<StoryEntry> & Pick<StoryEntry, 'time' | 'kind' | 'summary'>): StoryEntry {
  return {
    identity: null,
    actor: null,
    protocol: null,
    target: null,
    session_id: null,
    channel_id: null,
    recording: null,
    request_id: null,
    grant_id: null,
    ticket: null,
    audit_seqs: [],
    query: null,
    kube_request: null,
    details: {},
    ...fields,
  };
}

export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : value;
}

/** Audit event types a session's own entries carry (as `audit_seqs`) instead of being entries of their own. */
export const SESSION_EVENT_TYPES = ['session.start', 'session.end', 'session.interrupted', 'access.allow'];
