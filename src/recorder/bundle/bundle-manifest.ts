/**
 * An evidence bundle (`custos export`): a gzipped POSIX tar of
 *
 * | file | what |
 * |---|---|
 * | `manifest.json` | format, scope, chain segment and head, and the sha256 of every other file |
 * | `SHA256SUMS` | the same digests for `sha256sum -c` |
 * | `README.txt` | this layout and how to verify it |
 * | `story.jsonl`, `story.html` | the timeline (`custos story` formats) |
 * | `sessions.jsonl` | each session row with its channels, file operations and port forwards |
 * | `queries.jsonl` | every statement of those sessions (the `custos queries` JSON lines) |
 * | `kube-requests.jsonl` | every Kubernetes API request of those sessions (the `custos kube-requests` JSON lines) |
 * | `audit.jsonl` | the audit events of the scope (`custos.audit/1` records) |
 * | `chain.jsonl` | every audit event from the first of those to the head: the hashes that link them to it |
 * | `recordings/<session>/<file>` | every recording the sessions reference |
 */
export const BUNDLE_FORMAT = 'custos-bundle/1';

export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  checksums: 'SHA256SUMS',
  readme: 'README.txt',
  storyJsonl: 'story.jsonl',
  storyHtml: 'story.html',
  sessions: 'sessions.jsonl',
  queries: 'queries.jsonl',
  kubeRequests: 'kube-requests.jsonl',
  audit: 'audit.jsonl',
  chain: 'chain.jsonl',
} as const;

export type BundleFileKind = 'readme' | 'checksums' | 'story' | 'sessions' | 'queries' | 'kube-requests' | 'audit' | 'chain' | 'recording';

export interface BundleFile {
  path: string;
  bytes: number;
  sha256: string;
  kind: BundleFileKind;
  /** A recording: its session and channel (`main` for a session recording that is no channel's). */
  session?: string;
  channel?: number | 'main';
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  created_at: string;
  created_by: string;
  custos_version: string;
  scope: { identity: string | null; since: string | null; until: string | null };
  /** The segment chain.jsonl holds: from `from_seq` (whose prev_hash is `from_prev_hash`) to `head`. */
  chain: { from_seq: number; from_prev_hash: string; head: { seq: number; hash: string } } | null;
  counts: { sessions: number; statements: number; kube_requests: number; audit_events: number; chain_events: number; recordings: number; story_entries: number };
  files: BundleFile[];
}

/** One line of sessions.jsonl. */
export interface BundleSession {
  session: Record<string, unknown> & { id: string };
  channels: Array<Record<string, unknown> & { channelId: number }>;
  fileOperations: Array<Record<string, unknown>>;
  portForwards: Array<Record<string, unknown>>;
}

export const BUNDLE_README = `Custos evidence bundle (${BUNDLE_FORMAT})

manifest.json      scope, audit chain segment and head, sha256 of every other file
SHA256SUMS         the same digests: sha256sum -c SHA256SUMS
story.jsonl/.html  the timeline (open story.html in a browser; it loads nothing)
sessions.jsonl     the sessions with channels, file operations, port forwards
queries.jsonl      every statement of those sessions
kube-requests.jsonl  every Kubernetes API request of those sessions
audit.jsonl        the audit events of the scope (custos.audit/1 records)
chain.jsonl        every audit event from the first of those to the head
recordings/        every recording the sessions reference

Verify it, offline, with: custos verify --bundle <this file> [--expect-head SEQ:HASH]
It checks every file against the manifest, every audit event's hash and its link to the
head, every recording against the digest sealed in its session's end event, every
session's statements and Kubernetes requests against their sealed digests, and each session row against its
session.start and session.end events. Compare the head it prints with one kept outside
the store (an earlier custos verify, the audit.anchor file): a bundle rebuilt by someone
who rewrote the store has a different head.
`;
