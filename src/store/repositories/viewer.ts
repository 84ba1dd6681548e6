import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { ChainedAuditEvent } from '../../core/audit-chain.js';
import type { Db } from '../db.js';
import { auditEvents, identities, queries, sessions } from '../schema/index.js';
import { LISTING_COLUMNS, type QueryListing, type QueryRow } from './queries.js';
import { sessionConditions } from './session-filter.js';
import type { SessionRow } from './sessions.js';

/**
 * The web viewer's reads: filtered, scoped, keyset-paginated. `identityIds: null` means the
 * reader may see every identity's records; a list restricts them to those identities.
 */
export interface ViewerScope {
  identityIds: string[] | null;
}

export interface SessionPageFilter {
  identity?: string;
  target?: string;
  protocol?: string;
  state?: string;
  ticket?: string;
  /** Sessions still running at or ending after this time. */
  since?: Date;
  /** Sessions that started at or before this time. */
  until?: Date;
  /** Keyset: sessions strictly older than this (started_at, id) pair. */
  before?: { startedAt: Date; id: string };
  limit: number;
}

export type SessionListItem = Pick<
  SessionRow,
  | 'id'
  | 'protocol'
  | 'state'
  | 'identityName'
  | 'identityKind'
  | 'identityOwner'
  | 'target'
  | 'login'
  | 'database'
  | 'clientAddr'
  | 'ticket'
  | 'startedAt'
  | 'endedAt'
  | 'endReason'
>;

export interface QueryPageFilter {
  identity?: string;
  sessionId?: string;
  target?: string;
  status?: string;
  since?: Date;
  until?: Date;
  /** Keyset, newest first: ids strictly below this one. */
  beforeId?: number;
  /** Keyset, oldest first (exports): ids strictly above this one. */
  afterId?: number;
  /** Exports stop at the newest id that existed when they started. */
  throughId?: number;
  order: 'asc' | 'desc';
  limit: number;
}

export interface AuditPageFilter {
  /** Type prefixes such as `resource.`; an event matches if its type starts with any. */
  typePrefixes: string[];
  type?: string;
  identity?: string;
  actor?: string;
  target?: string;
  since?: Date;
  until?: Date;
  /** One event. */
  seq?: number;
  beforeSeq?: number;
  limit: number;
}

const MAX_PAGE = 1000;

export function viewerRepository(db: Db) {
  return {
    async sessionsPage(scope: ViewerScope, filter: SessionPageFilter): Promise<SessionListItem[]> {
      const conditions: SQL[] = [];
      if (scope.identityIds) conditions.push(scope.identityIds.length ? inArray(sessions.identityId, scope.identityIds) : sql`false`);
      conditions.push(...sessionConditions(filter));
      return db
        .select({
          id: sessions.id,
          protocol: sessions.protocol,
          state: sessions.state,
          identityName: sessions.identityName,
          identityKind: sessions.identityKind,
          identityOwner: sessions.identityOwner,
          target: sessions.target,
          login: sessions.login,
          database: sessions.database,
          clientAddr: sessions.clientAddr,
          ticket: sessions.ticket,
          startedAt: sessions.startedAt,
          endedAt: sessions.endedAt,
          endReason: sessions.endReason,
        })
        .from(sessions)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(sessions.startedAt), desc(sessions.id))
        .limit(Math.min(filter.limit, MAX_PAGE));
    },

    async queriesPage(scope: ViewerScope, filter: QueryPageFilter): Promise<QueryListing[]> {
      const conditions: SQL[] = [];
      if (scope.identityIds) conditions.push(scope.identityIds.length ? inArray(queries.identityId, scope.identityIds) : sql`false`);
      if (filter.identity) conditions.push(eq(queries.identityName, filter.identity));
      if (filter.sessionId) conditions.push(eq(queries.sessionId, filter.sessionId));
      if (filter.target) conditions.push(eq(queries.target, filter.target));
      if (filter.status) conditions.push(eq(queries.status, filter.status as QueryRow['status']));
      if (filter.since) conditions.push(gte(queries.startedAt, filter.since));
      if (filter.until) conditions.push(lte(queries.startedAt, filter.until));
      if (filter.beforeId !== undefined) conditions.push(lt(queries.id, filter.beforeId));
      if (filter.afterId !== undefined) conditions.push(gt(queries.id, filter.afterId));
      if (filter.throughId !== undefined) conditions.push(lte(queries.id, filter.throughId));
      return db
        .select(LISTING_COLUMNS)
        .from(queries)
        .leftJoin(sessions, eq(sessions.id, queries.sessionId))
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(filter.order === 'asc' ? asc(queries.id) : desc(queries.id))
        .limit(Math.min(filter.limit, MAX_PAGE));
    },

    /** The newest query id now: an export covers rows up to it and no later arrivals. */
    async lastQueryId(): Promise<number> {
      const [row] = await db.select({ id: sql<number | null>`max(${queries.id})` }).from(queries);
      return Number(row?.id ?? 0);
    },

    async auditPage(filter: AuditPageFilter): Promise<ChainedAuditEvent[]> {
      const conditions: SQL[] = [];
      const prefixes = filter.typePrefixes.map((prefix) => sql`${auditEvents.type} like ${`${escapeLike(prefix)}%`}`);
      if (prefixes.length) conditions.push(or(...prefixes)!);
      if (filter.type) conditions.push(eq(auditEvents.type, filter.type));
      if (filter.identity) conditions.push(eq(auditEvents.identity, filter.identity));
      if (filter.actor) conditions.push(eq(auditEvents.actor, filter.actor));
      if (filter.target) conditions.push(eq(auditEvents.target, filter.target));
      if (filter.since) conditions.push(gte(auditEvents.time, filter.since));
      if (filter.until) conditions.push(lte(auditEvents.time, filter.until));
      if (filter.seq !== undefined) conditions.push(eq(auditEvents.seq, filter.seq));
      if (filter.beforeSeq !== undefined) conditions.push(lt(auditEvents.seq, filter.beforeSeq));
      const rows = await db
        .select()
        .from(auditEvents)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(auditEvents.seq))
        .limit(Math.min(filter.limit, MAX_PAGE));
      return rows.map((row) => ({ ...row, time: row.time.toISOString() }));
    },

    /** The chain-protected recording digests of a session (from its end event). */
    async sessionEndEvent(sessionId: string): Promise<ChainedAuditEvent | null> {
      const [row] = await db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.sessionId, sessionId), inArray(auditEvents.type, ['session.end', 'session.interrupted'])))
        .orderBy(desc(auditEvents.seq))
        .limit(1);
      return row ? { ...row, time: row.time.toISOString() } : null;
    },

    /** Ids of the bots a human identity owns (their records count as the owner's "own"). */
    async identityIdsOwnedBy(ownerName: string): Promise<string[]> {
      const rows = await db.select({ id: identities.id }).from(identities).where(eq(identities.owner, ownerName));
      return rows.map((row) => row.id);
    },
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
