import { eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db.js';
import { StoreError } from '../errors.js';
import { identities, identitySshKeys, roles, storeMeta, targets, tokens } from '../schema/index.js';
import { appendEventsInTx, type AuditEventInput } from './audit.js';

export type TargetRow = typeof targets.$inferSelect;
export type RoleRow = typeof roles.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;
export type SshKeyRow = typeof identitySshKeys.$inferSelect;

export interface ResourceSnapshot {
  revision: number;
  targets: TargetRow[];
  roles: RoleRow[];
  identities: IdentityRow[];
  sshKeys: SshKeyRow[];
}

/**
 * A complete, already validated change to the declared resources and the audit events that
 * describe it. Computed from a snapshot; applied only if no other change landed since
 * (`baseRevision`), otherwise refused with `conflict` so the caller plans again.
 */
export interface ResourcePlan {
  baseRevision: number;
  upsertTargets: TargetRow[];
  deleteTargets: string[];
  upsertRoles: RoleRow[];
  deleteRoles: string[];
  upsertIdentities: Array<{ identity: IdentityRow; sshKeys: SshKeyRow[] }>;
  /** Identity ids; their SSH keys go and their tokens are revoked. */
  deleteIdentities: string[];
  actor: string;
  events: AuditEventInput[];
}

const REVISION_KEY = 'resources_revision';

export function resourceRepository(db: Db) {
  return {
    async snapshot(): Promise<ResourceSnapshot> {
      return db.transaction(async (tx) => ({
        revision: await readRevision(tx),
        targets: await tx.select().from(targets).orderBy(targets.name),
        roles: await tx.select().from(roles).orderBy(roles.name),
        identities: await tx.select().from(identities).orderBy(identities.name),
        sshKeys: await tx.select().from(identitySshKeys).orderBy(identitySshKeys.fingerprint),
      }));
    },

    async apply(plan: ResourcePlan): Promise<{ revision: number; auditSeqs: number[] }> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${0x7265736f})`);
        const current = await readRevision(tx);
        if (current !== plan.baseRevision) {
          throw new StoreError('conflict', 'resources changed while this change was being prepared; try again');
        }
        for (const row of plan.upsertTargets) {
          await tx.insert(targets).values(row).onConflictDoUpdate({
            target: targets.name,
            set: { protocol: row.protocol, address: row.address, labels: row.labels, spec: row.spec, updatedAt: row.updatedAt },
          });
        }
        if (plan.deleteTargets.length) await tx.delete(targets).where(inArray(targets.name, plan.deleteTargets));
        for (const row of plan.upsertRoles) {
          await tx.insert(roles).values(row).onConflictDoUpdate({
            target: roles.name,
            set: { spec: row.spec, updatedAt: row.updatedAt },
          });
        }
        if (plan.deleteRoles.length) await tx.delete(roles).where(inArray(roles.name, plan.deleteRoles));
        if (plan.deleteIdentities.length) {
          await tx.delete(identitySshKeys).where(inArray(identitySshKeys.identityId, plan.deleteIdentities));
          await tx
            .update(tokens)
            .set({ revokedAt: new Date(), revokedBy: plan.actor })
            .where(sql`${inArray(tokens.identityId, plan.deleteIdentities)} and ${isNull(tokens.revokedAt)}`);
          await tx.delete(identities).where(inArray(identities.id, plan.deleteIdentities));
        }
        for (const { identity, sshKeys } of plan.upsertIdentities) {
          await tx.insert(identities).values(identity).onConflictDoUpdate({
            target: identities.id,
            set: {
              kind: identity.kind,
              owner: identity.owner,
              roles: identity.roles,
              spec: identity.spec,
              updatedAt: identity.updatedAt,
            },
          });
          await tx.delete(identitySshKeys).where(eq(identitySshKeys.identityId, identity.id));
          if (sshKeys.length) await tx.insert(identitySshKeys).values(sshKeys);
        }
        const revision = current + 1;
        await tx
          .insert(storeMeta)
          .values({ key: REVISION_KEY, value: revision })
          .onConflictDoUpdate({ target: storeMeta.key, set: { value: revision } });
        const events = await appendEventsInTx(tx, plan.events);
        return { revision, auditSeqs: events.map((event) => event.seq) };
      });
    },

    async target(name: string): Promise<TargetRow | null> {
      const [row] = await db.select().from(targets).where(eq(targets.name, name));
      return row ?? null;
    },

    async role(name: string): Promise<RoleRow | null> {
      const [row] = await db.select().from(roles).where(eq(roles.name, name));
      return row ?? null;
    },

    async rolesNamed(names: string[]): Promise<RoleRow[]> {
      if (names.length === 0) return [];
      return db.select().from(roles).where(inArray(roles.name, names));
    },

    async identityByName(name: string): Promise<IdentityRow | null> {
      const [row] = await db.select().from(identities).where(eq(identities.name, name));
      return row ?? null;
    },

    /** The bots an identity owns, by name. */
    async identitiesOwnedBy(ownerName: string): Promise<IdentityRow[]> {
      return db.select().from(identities).where(eq(identities.owner, ownerName)).orderBy(identities.name);
    },

    async identityById(id: string): Promise<IdentityRow | null> {
      const [row] = await db.select().from(identities).where(eq(identities.id, id));
      return row ?? null;
    },

    async identityBySshFingerprint(fingerprint: string): Promise<{ identity: IdentityRow; key: SshKeyRow } | null> {
      const [row] = await db
        .select({ identity: identities, key: identitySshKeys })
        .from(identitySshKeys)
        .innerJoin(identities, eq(identities.id, identitySshKeys.identityId))
        .where(eq(identitySshKeys.fingerprint, fingerprint));
      return row ?? null;
    },
  };
}

async function readRevision(tx: Tx): Promise<number> {
  const [row] = await tx.select().from(storeMeta).where(eq(storeMeta.key, REVISION_KEY));
  return row?.value ?? 0;
}
