import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { SessionDetail, SessionRow } from '../../store/repositories/sessions.js';
import { channelSource } from './channel-source.js';
import { historySource } from './history-source.js';
import { identityProfile } from './identity-profile.js';
import { kubeRequestSource } from './kube-request-source.js';
import { sessionSource } from './session-source.js';
import { statementSource } from './statement-source.js';
import { STORY_SCHEMA, type Story, type StoryContext, type StoryEntry, type StoryProtocol, type StorySource, type StoryStore, type StoryWindow } from './story-model.js';

/** The evidence sources a story is made of, each a small module over one kind of record. */
export const STORY_SOURCES: StorySource[] = [historySource, sessionSource, channelSource, statementSource, kubeRequestSource];

export interface StoryOptions extends StoryWindow {
  /** Whose story; null for every identity's. */
  identity: string | null;
  recordingsDir: string;
  /** Each captured statement as an entry (otherwise counted on the session's end). */
  statements?: boolean;
  /** Only entries of this protocol (entries that concern no protocol are left out). */
  protocol?: StoryProtocol | null;
  /** At most this many entries, the oldest first (the viewer bounds a page). */
  maxEntries?: number;
  sources?: StorySource[];
  now?: Date;
}

/**
 * One ordered timeline of everything an identity did and everything done to it in a
 * window: sessions overlapping the window count, whole.
 */
export async function buildStory(store: StoryStore, options: StoryOptions): Promise<Story> {
  const head = await store.audit.head();
  const rows = await sessionsIn(store, options);
  const sessions: SessionDetail[] = [];
  const sessionEvents = new Map<string, ChainedAuditEvent[]>();
  for (const row of rows) {
    const detail = await store.sessions.detail(row.id);
    if (!detail) continue;
    sessions.push(detail);
    sessionEvents.set(row.id, await store.audit.list({ sessionId: row.id, order: 'asc', limit: 10_000 }));
  }
  const context: StoryContext = {
    store,
    identity: options.identity,
    window: { since: options.since, until: options.until },
    sessions,
    sessionEvents,
    statements: options.statements ?? false,
    recordingsDir: options.recordingsDir,
  };
  let entries: StoryEntry[] = [];
  for (const source of options.sources ?? STORY_SOURCES) entries.push(...(await source.entries(context)));
  if (options.protocol) entries = entries.filter((entry) => entry.protocol === options.protocol);
  entries.sort(storyOrder);
  const max = options.maxEntries ?? Number.POSITIVE_INFINITY;
  return {
    schema: STORY_SCHEMA,
    generated_at: (options.now ?? new Date()).toISOString(),
    identity: options.identity ? await identityProfile(store, options.identity, rows) : null,
    window: { since: options.since?.toISOString() ?? null, until: options.until?.toISOString() ?? null },
    protocol: options.protocol ?? null,
    head,
    sessions: sessions.length,
    entries: entries.slice(0, max),
    truncated: entries.length > max,
  };
}

/** Newest first, as the store pages them; every session overlapping the window. */
async function sessionsIn(store: StoryStore, options: StoryOptions): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  let before: { startedAt: Date; id: string } | undefined;
  while (true) {
    const page = await store.sessions.list({
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.since ? { since: options.since } : {}),
      ...(options.until ? { until: options.until } : {}),
      ...(options.protocol ? { protocol: options.protocol } : {}),
      ...(before ? { before } : {}),
      limit: 10_000,
    });
    rows.push(...page);
    if (page.length < 10_000) return rows;
    const last = page.at(-1)!;
    before = { startedAt: last.startedAt, id: last.id };
  }
}

/** Within one instant: a session's start before what happens in it, its end after, audit events by seq. */
const RANK: Record<string, number> = { 'session.start': 0, channel: 1, 'session.end': 3, 'session.interrupted': 3 };

export function storyOrder(a: StoryEntry, b: StoryEntry): number {
  const time = micros(a.time) - micros(b.time);
  if (time !== 0) return time;
  const rank = (RANK[a.kind] ?? 2) - (RANK[b.kind] ?? 2);
  if (rank !== 0) return rank;
  const seq = (a.audit_seqs[0] ?? 0) - (b.audit_seqs[0] ?? 0);
  if (seq !== 0) return seq;
  return (a.query?.seq ?? 0) - (b.query?.seq ?? 0) || (a.kube_request?.seq ?? 0) - (b.kube_request?.seq ?? 0) || (a.channel_id ?? 0) - (b.channel_id ?? 0);
}

/** An ISO time in microseconds (audit times keep the store's microseconds). */
function micros(time: string): number {
  const sub = /\.\d{3}(\d{1,3})Z$/.exec(time)?.[1] ?? '';
  return Date.parse(time) * 1000 + Number(sub.padEnd(3, '0'));
}
