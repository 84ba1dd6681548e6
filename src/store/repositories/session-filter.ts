import { and, eq, gte, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import { sessions } from '../schema/index.js';

/** What the CLI, the viewer and exports filter sessions by. */
export interface SessionConditions {
  identity?: string;
  target?: string;
  protocol?: string;
  state?: string;
  ticket?: string;
  node?: string;
  /** Sessions whose span [start, end or now] reaches this time (still live, or ended at or after it). */
  since?: Date;
  /** Sessions that started at or before this time. */
  until?: Date;
  /** Keyset: sessions strictly older than this (started_at, id) pair. */
  before?: { startedAt: Date; id: string };
}

/**
 * Time filters mean overlap: a session belongs to a window when its span [start, end or now]
 * overlaps it, so an auditor asking for a range sees a session that started earlier and ran
 * into it. One definition for every reader.
 */
export function sessionConditions(filter: SessionConditions): SQL[] {
  const conditions: SQL[] = [];
  if (filter.identity) conditions.push(eq(sessions.identityName, filter.identity));
  if (filter.target) conditions.push(eq(sessions.target, filter.target));
  if (filter.protocol) conditions.push(eq(sessions.protocol, filter.protocol as 'ssh'));
  if (filter.state) conditions.push(eq(sessions.state, filter.state as 'live'));
  if (filter.ticket) conditions.push(eq(sessions.ticket, filter.ticket));
  if (filter.node) conditions.push(eq(sessions.node, filter.node));
  if (filter.until) conditions.push(lte(sessions.startedAt, filter.until));
  if (filter.since) conditions.push(or(isNull(sessions.endedAt), gte(sessions.endedAt, filter.since))!);
  if (filter.before) {
    conditions.push(sql`(${sessions.startedAt}, ${sessions.id}) < (${filter.before.startedAt.toISOString()}::timestamptz, ${filter.before.id})`);
  }
  return conditions;
}

export function whereSessions(filter: SessionConditions): SQL | undefined {
  const conditions = sessionConditions(filter);
  return conditions.length ? and(...conditions) : undefined;
}
