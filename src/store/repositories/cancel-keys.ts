import { eq } from 'drizzle-orm';
import type { Db } from '../db.js';
import { cancelKeys } from '../schema/index.js';

export type CancelKeyRow = typeof cancelKeys.$inferSelect;

export function cancelKeyRepository(db: Db) {
  return {
    /** False when the process id is taken (the caller draws another). */
    async insert(row: CancelKeyRow): Promise<boolean> {
      const inserted = await db.insert(cancelKeys).values(row).onConflictDoNothing().returning({ processId: cancelKeys.processId });
      return inserted.length === 1;
    },

    async get(processId: number): Promise<CancelKeyRow | null> {
      const [row] = await db.select().from(cancelKeys).where(eq(cancelKeys.processId, processId));
      return row ?? null;
    },

    async deleteForSession(sessionId: string): Promise<void> {
      await db.delete(cancelKeys).where(eq(cancelKeys.sessionId, sessionId));
    },

    /** Keys a node left behind when it stopped without ending its sessions (crash recovery). */
    async deleteForNode(node: string): Promise<number> {
      const deleted = await db.delete(cancelKeys).where(eq(cancelKeys.node, node)).returning({ processId: cancelKeys.processId });
      return deleted.length;
    },
  };
}
