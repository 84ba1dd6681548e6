import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../db.js';
import { identities, tokens, webSessions } from '../schema/index.js';

export type WebSessionRow = typeof webSessions.$inferSelect;

export interface ResolvedWebSession {
  session: WebSessionRow;
  token: { id: string; expiresAt: Date | null; revokedAt: Date | null } | null;
  identity: { id: string; name: string; kind: 'human' | 'bot'; owner: string | null; roles: string[] } | null;
}

export function webSessionRepository(db: Db) {
  return {
    async create(row: WebSessionRow): Promise<void> {
      await db.insert(webSessions).values(row);
    },

    /** The session with this secret hash, with its token and identity as they are now. */
    async resolve(secretHash: string): Promise<ResolvedWebSession | null> {
      const [row] = await db
        .select({
          session: webSessions,
          tokenId: tokens.id,
          tokenExpiresAt: tokens.expiresAt,
          tokenRevokedAt: tokens.revokedAt,
          identityId: identities.id,
          identityName: identities.name,
          identityKind: identities.kind,
          identityOwner: identities.owner,
          identityRoles: identities.roles,
        })
        .from(webSessions)
        .leftJoin(tokens, eq(tokens.id, webSessions.tokenId))
        .leftJoin(identities, eq(identities.id, webSessions.identityId))
        .where(eq(webSessions.secretHash, secretHash));
      if (!row) return null;
      return {
        session: row.session,
        token: row.tokenId ? { id: row.tokenId, expiresAt: row.tokenExpiresAt, revokedAt: row.tokenRevokedAt } : null,
        identity: row.identityId
          ? { id: row.identityId, name: row.identityName!, kind: row.identityKind!, owner: row.identityOwner, roles: row.identityRoles! }
          : null,
      };
    },

    async touch(id: string, lastSeenAt: Date, idleExpiresAt: Date): Promise<void> {
      await db.update(webSessions).set({ lastSeenAt, idleExpiresAt }).where(eq(webSessions.id, id));
    },

    async end(id: string, endedAt: Date, reason: string): Promise<void> {
      await db
        .update(webSessions)
        .set({ endedAt, endReason: reason })
        .where(and(eq(webSessions.id, id), isNull(webSessions.endedAt)));
    },

    /** Deletes rows that can no longer be used (expired or ended before `before`). */
    async purge(before: Date): Promise<number> {
      const removed = await db
        .delete(webSessions)
        .where(or(lt(webSessions.expiresAt, before), lt(webSessions.idleExpiresAt, before), lt(webSessions.endedAt, before)))
        .returning({ id: webSessions.id });
      return removed.length;
    },
  };
}
