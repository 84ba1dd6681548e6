import { and, asc, desc, eq, gt, inArray, isNull, lte, min, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db.js';
import { StoreError } from '../errors.js';
import { accessRequests, grants, requestApprovals, sessions, tokens } from '../schema/index.js';
import { appendEventsInTx, type AuditEventInput } from './audit.js';

export type AccessRequestRow = typeof accessRequests.$inferSelect;
export type RequestApprovalRow = typeof requestApprovals.$inferSelect;
export type GrantRow = typeof grants.$inferSelect;
export type RequestState = AccessRequestRow['state'];

export interface RequestDetail {
  request: AccessRequestRow;
  approvals: RequestApprovalRow[];
  grant: GrantRow | null;
}

export interface RequestFilter {
  state?: RequestState;
  /** Requests for this identity or asked by it. */
  identity?: string;
  /**
   * Only what this reader may see: requests for, by, or for a bot owned by these identities,
   * or those any of these roles may approve. Absent: everything.
   */
  visibleTo?: { identities: string[]; approverRoles: string[] };
  /** Keyset, newest first. */
  before?: { createdAt: Date; id: string };
  limit?: number;
}

/** A session opened under a request, with its statement count (PostgreSQL) and recordings. */
export interface SessionUnderRequest {
  id: string;
  protocol: string;
  state: string;
  identityName: string;
  target: string;
  login: string | null;
  database: string | null;
  node: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  recordingSha256: string | null;
  hasRecording: boolean;
  statements: number;
}

/** What an answer changes, checked against the request as the caller read it. */
export interface Answer {
  requestId: string;
  /** The approvals the caller counted: if another answer landed since, `conflict`. */
  expectApprovals: number;
  approval: RequestApprovalRow;
  /** Denied: the request closes. Approved by the last approver needed: the grant starts. */
  outcome: { kind: 'pending' } | { kind: 'denied'; at: Date; reason: string } | { kind: 'approved'; at: Date; grant: GrantRow };
  events: AuditEventInput[];
}

export interface Revocation {
  requestId: string;
  expectState: 'pending' | 'approved';
  at: Date;
  by: string;
  reason: string;
  events: AuditEventInput[];
}

/**
 * Access requests, their approvals and the grants they become. Every change commits with its
 * audit events. Changes another gateway may make at the same time are guarded: answers and
 * revocations lock the request row and fail with `conflict` if it changed since the caller
 * read it; expiries and grant ends are conditional updates, so of several gateways sweeping
 * the same store exactly one writes each event.
 */
export function requestRepository(db: Db) {
  return {
    async create(row: AccessRequestRow, events: AuditEventInput[]): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(accessRequests).values(row);
        await appendEventsInTx(tx, events);
      });
    },

    async get(id: string): Promise<RequestDetail | null> {
      const [request] = await db.select().from(accessRequests).where(eq(accessRequests.id, id));
      if (!request) return null;
      return {
        request,
        approvals: await db.select().from(requestApprovals).where(eq(requestApprovals.requestId, id)).orderBy(asc(requestApprovals.at)),
        grant: (await db.select().from(grants).where(eq(grants.requestId, id)))[0] ?? null,
      };
    },

    /** Newest first, with their approvals and grants. */
    async list(filter: RequestFilter = {}): Promise<RequestDetail[]> {
      const conditions: SQL[] = [];
      if (filter.state) conditions.push(eq(accessRequests.state, filter.state));
      if (filter.identity) conditions.push(or(eq(accessRequests.identityName, filter.identity), eq(accessRequests.requestedBy, filter.identity))!);
      if (filter.visibleTo) {
        const { identities, approverRoles } = filter.visibleTo;
        const visible: SQL[] = [];
        if (identities.length) {
          visible.push(inArray(accessRequests.identityName, identities), inArray(accessRequests.requestedBy, identities), inArray(accessRequests.identityOwner, identities));
        }
        if (approverRoles.length) {
          visible.push(sql`${accessRequests.approverRoles} ?| array[${sql.join(approverRoles.map((role) => sql`${role}`), sql`, `)}]::text[]`);
        }
        conditions.push(visible.length ? or(...visible)! : sql`false`);
      }
      if (filter.before) {
        conditions.push(sql`(${accessRequests.createdAt}, ${accessRequests.id}) < (${filter.before.createdAt.toISOString()}::timestamptz, ${filter.before.id})`);
      }
      const rows = await db
        .select()
        .from(accessRequests)
        .where(conditions.length ? and(...conditions) : undefined)
        .orderBy(desc(accessRequests.createdAt), desc(accessRequests.id))
        .limit(Math.min(filter.limit ?? 100, 1000));
      if (rows.length === 0) return [];
      const ids = rows.map((row) => row.id);
      const approvals = await db.select().from(requestApprovals).where(inArray(requestApprovals.requestId, ids)).orderBy(asc(requestApprovals.at));
      const granted = await db.select().from(grants).where(inArray(grants.requestId, ids));
      return rows.map((request) => ({
        request,
        approvals: approvals.filter((approval) => approval.requestId === request.id),
        grant: granted.find((grant) => grant.requestId === request.id) ?? null,
      }));
    },

    /** Records one approver's answer; closes the request (denied) or starts its grant (approved by the last one needed). */
    async answer(answer: Answer): Promise<void> {
      await db.transaction(async (tx) => {
        const request = await lockPending(tx, answer.requestId);
        const [counted] = await tx
          .select({ count: sql<number>`count(*)::int` })
          .from(requestApprovals)
          .where(and(eq(requestApprovals.requestId, request.id), eq(requestApprovals.decision, 'approve')));
        if (Number(counted?.count ?? 0) !== answer.expectApprovals) {
          throw new StoreError('conflict', `request ${request.id} was answered by someone else meanwhile; try again`);
        }
        const [existing] = await tx
          .select()
          .from(requestApprovals)
          .where(and(eq(requestApprovals.requestId, request.id), eq(requestApprovals.approverId, answer.approval.approverId)));
        if (existing) throw new StoreError('conflict', `${existing.approverName} already answered request ${request.id}`);
        await tx.insert(requestApprovals).values(answer.approval);
        const { outcome } = answer;
        if (outcome.kind === 'denied') {
          await tx
            .update(accessRequests)
            .set({ state: 'denied', closedAt: outcome.at, closedBy: answer.approval.approverName, closeReason: outcome.reason })
            .where(eq(accessRequests.id, request.id));
        } else if (outcome.kind === 'approved') {
          await tx.update(accessRequests).set({ state: 'approved', approvedAt: outcome.at }).where(eq(accessRequests.id, request.id));
          await tx.insert(grants).values(outcome.grant);
        }
        await appendEventsInTx(tx, answer.events);
      });
    },

    /**
     * Revokes a pending or approved request: an approved one's grant ends at once, and the
     * tokens minted under it are revoked with it.
     */
    async revoke(revocation: Revocation): Promise<void> {
      await db.transaction(async (tx) => {
        const [request] = await tx.select().from(accessRequests).where(eq(accessRequests.id, revocation.requestId)).for('update');
        if (!request) throw new StoreError('not_found', `no request ${revocation.requestId}`);
        if (request.state !== revocation.expectState) {
          throw new StoreError('conflict', `request ${request.id} is now ${request.state}; try again`);
        }
        await tx
          .update(accessRequests)
          .set({ state: 'revoked', closedAt: revocation.at, closedBy: revocation.by, closeReason: revocation.reason })
          .where(eq(accessRequests.id, request.id));
        await tx
          .update(grants)
          .set({ state: 'ended', endedAt: revocation.at, endKind: 'revoked', endedBy: revocation.by, endReason: revocation.reason })
          .where(and(eq(grants.requestId, request.id), eq(grants.state, 'active')));
        await revokeTokensUnder(tx, request.id, revocation.at, revocation.by);
        await appendEventsInTx(tx, revocation.events);
      });
    },

    /** A pending request unanswered at its expiry: expired, once, by whichever gateway gets there first. */
    async expirePending(id: string, now: Date, by: string, events: AuditEventInput[]): Promise<boolean> {
      return db.transaction(async (tx) => {
        const changed = await tx
          .update(accessRequests)
          .set({ state: 'expired', closedAt: now, closedBy: by, closeReason: 'not answered in time' })
          .where(and(eq(accessRequests.id, id), eq(accessRequests.state, 'pending'), lte(accessRequests.expiresAt, now)))
          .returning({ id: accessRequests.id });
        if (changed.length === 0) return false;
        await appendEventsInTx(tx, events);
        return true;
      });
    },

    /** A grant at its end: ended, once, with its request and the tokens minted under it. */
    async expireGrant(id: string, now: Date, by: string, events: AuditEventInput[]): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [ended] = await tx
          .update(grants)
          .set({ state: 'ended', endedAt: now, endKind: 'expired', endedBy: by, endReason: 'the approved time ran out' })
          .where(and(eq(grants.id, id), eq(grants.state, 'active'), lte(grants.endsAt, now)))
          .returning();
        if (!ended) return false;
        await tx
          .update(accessRequests)
          .set({ state: 'expired', closedAt: now, closedBy: by, closeReason: 'the approved time ran out' })
          .where(and(eq(accessRequests.id, ended.requestId), eq(accessRequests.state, 'approved')));
        await revokeTokensUnder(tx, ended.requestId, now, by);
        await appendEventsInTx(tx, events);
        return true;
      });
    },

    /** What is due at `now`: pending requests past their expiry, active grants past their end. */
    async due(now: Date, limit = 100): Promise<{ requests: AccessRequestRow[]; grants: GrantRow[] }> {
      return {
        requests: await db
          .select()
          .from(accessRequests)
          .where(and(eq(accessRequests.state, 'pending'), lte(accessRequests.expiresAt, now)))
          .orderBy(asc(accessRequests.expiresAt))
          .limit(limit),
        grants: await db
          .select()
          .from(grants)
          .where(and(eq(grants.state, 'active'), lte(grants.endsAt, now)))
          .orderBy(asc(grants.endsAt))
          .limit(limit),
      };
    },

    /** The next time something falls due (a pending request's expiry, a grant's end), if any. */
    async nextDue(): Promise<Date | null> {
      const [pending] = await db.select({ at: min(accessRequests.expiresAt) }).from(accessRequests).where(eq(accessRequests.state, 'pending'));
      const [active] = await db.select({ at: min(grants.endsAt) }).from(grants).where(eq(grants.state, 'active'));
      const times = [pending?.at, active?.at].filter((at): at is Date => at instanceof Date || typeof at === 'string').map((at) => new Date(at));
      return times.length ? new Date(Math.min(...times.map((at) => at.getTime()))) : null;
    },

    /** An identity's grants that have not ended (those not yet started included). */
    async activeGrants(identityId: string, now: Date): Promise<GrantRow[]> {
      return db
        .select()
        .from(grants)
        .where(and(eq(grants.identityId, identityId), eq(grants.state, 'active'), gt(grants.endsAt, now)));
    },

    async grant(id: string): Promise<GrantRow | null> {
      const [row] = await db.select().from(grants).where(eq(grants.id, id));
      return row ?? null;
    },

    /**
     * A token for the request's identity that lives only as long as its grant: created only
     * while the grant is active (the grant row is locked meanwhile), expiring at its end.
     */
    async mintToken(requestId: string, token: typeof tokens.$inferInsert, events: AuditEventInput[], now: Date): Promise<void> {
      await db.transaction(async (tx) => {
        const [grant] = await tx.select().from(grants).where(eq(grants.requestId, requestId)).for('update');
        if (!grant || grant.state !== 'active' || grant.endsAt <= now) {
          throw new StoreError('conflict', `request ${requestId} has no active grant`);
        }
        await tx.insert(tokens).values({ ...token, requestId, expiresAt: grant.endsAt });
        await appendEventsInTx(tx, events);
      });
    },

    /** The sessions opened under a request, oldest first, with their statement counts. */
    async sessionsUnder(requestId: string, limit = 500): Promise<SessionUnderRequest[]> {
      const rows = await db
        .select({
          id: sessions.id,
          protocol: sessions.protocol,
          state: sessions.state,
          identityName: sessions.identityName,
          target: sessions.target,
          login: sessions.login,
          database: sessions.database,
          node: sessions.node,
          startedAt: sessions.startedAt,
          endedAt: sessions.endedAt,
          endReason: sessions.endReason,
          recordingSha256: sessions.recordingSha256,
          recordingPath: sessions.recordingPath,
          // Correlated on the qualified outer column: inside the subquery an unqualified "id" is the statement's.
          statements: sql<number>`(select count(*)::int from queries q where q.session_id = "sessions"."id")`,
        })
        .from(sessions)
        .where(eq(sessions.requestId, requestId))
        .orderBy(asc(sessions.startedAt))
        .limit(limit);
      return rows.map(({ recordingPath, statements, ...row }) => ({ ...row, hasRecording: recordingPath !== null, statements: Number(statements) }));
    },

    /** Open requests (pending or approved) per identity, for the bot inventory. */
    async openByIdentity(identityIds: string[]): Promise<AccessRequestRow[]> {
      if (identityIds.length === 0) return [];
      return db
        .select()
        .from(accessRequests)
        .where(and(inArray(accessRequests.identityId, identityIds), inArray(accessRequests.state, ['pending', 'approved'])))
        .orderBy(desc(accessRequests.createdAt));
    },

    /** Each identity's most recent session. */
    async lastSessionOf(identityIds: string[]): Promise<Array<{ identityId: string; id: string; startedAt: Date; target: string }>> {
      if (identityIds.length === 0) return [];
      return db
        .selectDistinctOn([sessions.identityId], { identityId: sessions.identityId, id: sessions.id, startedAt: sessions.startedAt, target: sessions.target })
        .from(sessions)
        .where(inArray(sessions.identityId, identityIds))
        .orderBy(sessions.identityId, desc(sessions.startedAt));
    },
  };
}

async function lockPending(tx: Tx, id: string): Promise<AccessRequestRow> {
  const [request] = await tx.select().from(accessRequests).where(eq(accessRequests.id, id)).for('update');
  if (!request) throw new StoreError('not_found', `no request ${id}`);
  if (request.state !== 'pending') throw new StoreError('conflict', `request ${id} is ${request.state}, not pending`);
  return request;
}

async function revokeTokensUnder(tx: Tx, requestId: string, at: Date, by: string): Promise<void> {
  await tx
    .update(tokens)
    .set({ revokedAt: at, revokedBy: by })
    .where(and(eq(tokens.requestId, requestId), isNull(tokens.revokedAt)));
}
