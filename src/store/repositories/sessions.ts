import { and, asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../db.js';
import { fileOperations, portForwards, sessionChannels, sessions } from '../schema/index.js';
import { appendEventsInTx, type AuditEventInput } from './audit.js';
import { whereSessions, type SessionConditions } from './session-filter.js';

export type SessionRow = typeof sessions.$inferSelect;
export type SessionChannelRow = typeof sessionChannels.$inferSelect;
export type FileOperationRow = typeof fileOperations.$inferSelect;
export type PortForwardRow = typeof portForwards.$inferSelect;

export interface SessionFilter extends SessionConditions {
  limit?: number;
}

export interface SessionDetail {
  session: SessionRow;
  channels: SessionChannelRow[];
  fileOperations: FileOperationRow[];
  portForwards: PortForwardRow[];
}

export function sessionRepository(db: Db) {
  return {
    /** Inserts the session row and its `session.start` event in one transaction. */
    async open(row: SessionRow, event: AuditEventInput): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(sessions).values(row);
        await appendEventsInTx(tx, [event]);
      });
    },

    /** Ends a session (closed or interrupted) and appends its end event in one transaction. */
    async end(
      id: string,
      patch: Pick<SessionRow, 'state' | 'endedAt' | 'endReason'> &
        Partial<Pick<SessionRow, 'recordingPath' | 'recordingBytes' | 'recordingSha256' | 'stats'>>,
      event: AuditEventInput,
    ): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.update(sessions).set(patch).where(eq(sessions.id, id));
        await appendEventsInTx(tx, [event]);
      });
    },

    /** The main recording's path while the session is live (its digest comes with `end`). */
    async setRecordingPath(id: string, recordingPath: string): Promise<void> {
      await db.update(sessions).set({ recordingPath }).where(eq(sessions.id, id));
    },

    async updateStats(id: string, stats: Record<string, unknown>): Promise<void> {
      await db.update(sessions).set({ stats }).where(eq(sessions.id, id));
    },

    async get(id: string): Promise<SessionRow | null> {
      const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
      return row ?? null;
    },

    async detail(id: string): Promise<SessionDetail | null> {
      const [session] = await db.select().from(sessions).where(eq(sessions.id, id));
      if (!session) return null;
      return {
        session,
        channels: await db
          .select()
          .from(sessionChannels)
          .where(eq(sessionChannels.sessionId, id))
          .orderBy(asc(sessionChannels.channelId)),
        fileOperations: await db
          .select()
          .from(fileOperations)
          .where(eq(fileOperations.sessionId, id))
          .orderBy(asc(fileOperations.id)),
        portForwards: await db
          .select()
          .from(portForwards)
          .where(eq(portForwards.sessionId, id))
          .orderBy(asc(portForwards.id)),
      };
    },

    /** Newest first; time filters select sessions overlapping the window (session-filter.ts). */
    async list(filter: SessionFilter = {}): Promise<SessionRow[]> {
      return db
        .select()
        .from(sessions)
        .where(whereSessions(filter))
        .orderBy(desc(sessions.startedAt), desc(sessions.id))
        .limit(Math.min(filter.limit ?? 100, 10_000));
    },

    /** Progress of a live session for the live view (ignored once the session has ended). */
    async updateActivity(id: string, lastActivityAt: Date, stats: Record<string, unknown>): Promise<void> {
      await db
        .update(sessions)
        .set({ lastActivityAt, stats })
        .where(and(eq(sessions.id, id), eq(sessions.state, 'live')));
    },

    /** Sessions a node left `live` (it crashed): recovered on the node's next start. */
    async liveOnNode(node: string): Promise<SessionRow[]> {
      return db
        .select()
        .from(sessions)
        .where(and(eq(sessions.node, node), eq(sessions.state, 'live')));
    },

    async addChannel(row: SessionChannelRow): Promise<void> {
      await db.insert(sessionChannels).values(row);
    },

    async updateChannel(
      sessionId: string,
      channelId: number,
      patch: Partial<Omit<SessionChannelRow, 'sessionId' | 'channelId'>>,
    ): Promise<void> {
      await db
        .update(sessionChannels)
        .set(patch)
        .where(and(eq(sessionChannels.sessionId, sessionId), eq(sessionChannels.channelId, channelId)));
    },

    async channels(sessionId: string): Promise<SessionChannelRow[]> {
      return db.select().from(sessionChannels).where(eq(sessionChannels.sessionId, sessionId)).orderBy(asc(sessionChannels.channelId));
    },

    async addFileOperations(rows: Array<Omit<FileOperationRow, 'id'>>): Promise<void> {
      if (rows.length) await db.insert(fileOperations).values(rows);
    },

    async addPortForward(row: Omit<PortForwardRow, 'id'>): Promise<number> {
      const [inserted] = await db.insert(portForwards).values(row).returning({ id: portForwards.id });
      return inserted!.id;
    },

    async updatePortForward(id: number, patch: Partial<Omit<PortForwardRow, 'id' | 'sessionId'>>): Promise<void> {
      await db.update(portForwards).set(patch).where(eq(portForwards.id, id));
    },
  };
}
