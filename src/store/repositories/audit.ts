import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import {
  auditEventHash,
  GENESIS_HASH,
  type AuditEventContent,
  type ChainedAuditEvent,
} from '../../core/audit-chain.js';
import { toStorableJson, type JsonObject } from '../../core/canonical-json.js';
import type { Db, DbOrTx } from '../db.js';
import { auditEvents } from '../schema/index.js';

/** Serializes chain appends across every process that shares the store. */
const CHAIN_LOCK_KEY = 0x61756469;

export interface AuditEventInput {
  time?: Date | string;
  type: string;
  actor: string;
  identity?: string | null;
  sessionId?: string | null;
  target?: string | null;
  data?: Record<string, unknown>;
}

export interface AuditFilter {
  since?: Date;
  until?: Date;
  identity?: string;
  type?: string;
  /** Any of these types. */
  types?: string[];
  /** A type prefix such as `resource.` */
  typePrefix?: string;
  sessionId?: string;
  actor?: string;
  afterSeq?: number;
  beforeSeq?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** Normalizes an event to exactly what a jsonb round trip gives back, so hashes verify. */
export function normalizeEvent(input: AuditEventInput): AuditEventContent {
  const time = input.time instanceof Date ? input.time : input.time ? new Date(input.time) : new Date();
  return {
    time: time.toISOString(),
    type: input.type,
    actor: input.actor,
    identity: input.identity ?? null,
    sessionId: input.sessionId ?? null,
    target: input.target ?? null,
    data: toStorableJson(input.data ?? {}) as JsonObject,
  };
}

/**
 * Appends events to the chain inside the caller's transaction (so a resource change and its
 * audit event commit together). Takes a transaction-scoped advisory lock, reads the head,
 * and chains the batch onto it.
 */
export async function appendEventsInTx(tx: DbOrTx, inputs: AuditEventInput[]): Promise<ChainedAuditEvent[]> {
  if (inputs.length === 0) return [];
  await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
  const [head] = await tx
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const chained: ChainedAuditEvent[] = [];
  for (const input of inputs) {
    const content = normalizeEvent(input);
    seq += 1;
    const hash = auditEventHash(seq, prevHash, content);
    chained.push({ ...content, seq, prevHash, hash });
    prevHash = hash;
  }
  for (let i = 0; i < chained.length; i += 500) {
    await tx.insert(auditEvents).values(
      chained.slice(i, i + 500).map((event) => ({
        seq: event.seq,
        time: new Date(event.time),
        type: event.type,
        actor: event.actor,
        identity: event.identity,
        sessionId: event.sessionId,
        target: event.target,
        data: event.data,
        prevHash: event.prevHash,
        hash: event.hash,
      })),
    );
  }
  return chained;
}

export function auditRepository(db: Db) {
  return {
    async append(inputs: AuditEventInput[]): Promise<ChainedAuditEvent[]> {
      return db.transaction((tx) => appendEventsInTx(tx, inputs));
    },

    async list(filter: AuditFilter = {}): Promise<ChainedAuditEvent[]> {
      const conditions: SQL[] = [];
      if (filter.since) conditions.push(gte(auditEvents.time, filter.since));
      if (filter.until) conditions.push(lte(auditEvents.time, filter.until));
      if (filter.identity) conditions.push(eq(auditEvents.identity, filter.identity));
      if (filter.type) conditions.push(eq(auditEvents.type, filter.type));
      if (filter.types) conditions.push(filter.types.length ? inArray(auditEvents.type, filter.types) : sql`false`);
      if (filter.typePrefix) conditions.push(sql`${auditEvents.type} like ${`${filter.typePrefix}%`}`);
      if (filter.sessionId) conditions.push(eq(auditEvents.sessionId, filter.sessionId));
      if (filter.actor) conditions.push(eq(auditEvents.actor, filter.actor));
      if (filter.afterSeq !== undefined) conditions.push(gt(auditEvents.seq, filter.afterSeq));
      if (filter.beforeSeq !== undefined) conditions.push(lt(auditEvents.seq, filter.beforeSeq));
      const rows = await db
        .select(withSubMillisecond)
        .from(auditEvents)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(filter.order === 'desc' ? desc(auditEvents.seq) : asc(auditEvents.seq))
        .limit(Math.min(filter.limit ?? 1000, 10_000));
      return rows.map(toChained);
    },

    /** Events in chain order after `afterSeq`, for verification. */
    async page(afterSeq: number, limit: number): Promise<ChainedAuditEvent[]> {
      const rows = await db
        .select(withSubMillisecond)
        .from(auditEvents)
        .where(gt(auditEvents.seq, afterSeq))
        .orderBy(asc(auditEvents.seq))
        .limit(limit);
      return rows.map(toChained);
    },

    async head(): Promise<{ seq: number; hash: string } | null> {
      const [row] = await db
        .select({ seq: auditEvents.seq, hash: auditEvents.hash })
        .from(auditEvents)
        .orderBy(desc(auditEvents.seq))
        .limit(1);
      return row ?? null;
    },
  };
}

/**
 * The hash covers `time` as an ISO string in milliseconds, and appends store exactly that
 * instant, but the column keeps microseconds, which a JavaScript Date drops on the way back.
 * Reading them too means a stored time moved by less than a millisecond no longer reads
 * back as the instant that was hashed, so verification sees the change.
 */
const withSubMillisecond = {
  ...getTableColumns(auditEvents),
  subMillisecond: sql<number>`(extract(microseconds from ${auditEvents.time})::bigint % 1000)::int`.mapWith(Number),
};

function toChained(row: typeof auditEvents.$inferSelect & { subMillisecond: number }): ChainedAuditEvent {
  const iso = row.time.toISOString();
  return {
    seq: row.seq,
    time: row.subMillisecond === 0 ? iso : iso.replace(/Z$/, `${String(row.subMillisecond).padStart(3, '0')}Z`),
    type: row.type,
    actor: row.actor,
    identity: row.identity,
    sessionId: row.sessionId,
    target: row.target,
    data: row.data,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
