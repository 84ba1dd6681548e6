import { canonicalJson } from '../core/canonical-json.js';
import { scramSalt } from '../core/scram.js';
import type { AuditEventInput } from '../store/repositories/audit.js';
import type {
  IdentityRow,
  ResourcePlan,
  ResourceSnapshot,
  RoleRow,
  SshKeyRow,
  TargetRow,
} from '../store/repositories/resources.js';
import { diffSpecs, redactSecrets } from './diff.js';
import { PolicyError } from './errors.js';
import { newId } from './ids.js';
import type { SourcedDocument } from './resource-file.js';
import type { IdentitySpec, ResourceKind, RoleSpec, TargetSpec } from './resource-schemas.js';
import { parsePublicKeyLine } from './ssh-keys.js';

export interface ChangeSummary {
  action: 'create' | 'update' | 'delete' | 'unchanged';
  kind: ResourceKind;
  name: string;
}

export interface PlanOptions {
  actor: string;
  reason?: string;
  now?: Date;
}

interface Desired {
  kind: ResourceKind;
  name: string;
  /** null: delete. */
  spec: Record<string, unknown> | null;
  origin: { source: string; index: number } | null;
}

/**
 * Turns declared documents into a plan: what to create, update and delete (`prune` deletes
 * resources of the applied kinds the file no longer declares), validated on the resulting
 * state as a whole, with one audit event per change.
 */
export function planApply(
  snapshot: ResourceSnapshot,
  documents: SourcedDocument[],
  options: PlanOptions & { prune?: boolean },
): { plan: ResourcePlan; changes: ChangeSummary[] } {
  const desired: Desired[] = documents.map(({ document, source, index }) => ({
    kind: document.kind,
    name: document.name,
    spec: document.spec as Record<string, unknown>,
    origin: { source, index },
  }));
  if (options.prune) {
    const declared = new Set(desired.map((d) => `${d.kind}/${d.name}`));
    const kinds = new Set(desired.map((d) => d.kind));
    for (const [kind, name] of existingResources(snapshot)) {
      if (kinds.has(kind) && !declared.has(`${kind}/${name}`)) desired.push({ kind, name, spec: null, origin: null });
    }
  }
  return buildPlan(snapshot, desired, options);
}

export function planDelete(
  snapshot: ResourceSnapshot,
  kind: ResourceKind,
  name: string,
  options: PlanOptions,
): { plan: ResourcePlan; changes: ChangeSummary[] } {
  const exists = existingResources(snapshot).some(([k, n]) => k === kind && n === name);
  if (!exists) throw new PolicyError('not_found', `no ${kind} named "${name}"`);
  return buildPlan(snapshot, [{ kind, name, spec: null, origin: null }], options);
}

function existingResources(snapshot: ResourceSnapshot): Array<[ResourceKind, string]> {
  return [
    ...snapshot.targets.map((t) => ['target', t.name] as [ResourceKind, string]),
    ...snapshot.identities.map((i) => ['identity', i.name] as [ResourceKind, string]),
    ...snapshot.roles.map((r) => ['role', r.name] as [ResourceKind, string]),
  ];
}

function buildPlan(
  snapshot: ResourceSnapshot,
  desired: Desired[],
  options: PlanOptions,
): { plan: ResourcePlan; changes: ChangeSummary[] } {
  const now = options.now ?? new Date();
  const reason = options.reason ?? null;
  const plan: ResourcePlan = {
    baseRevision: snapshot.revision,
    upsertTargets: [],
    deleteTargets: [],
    upsertRoles: [],
    deleteRoles: [],
    upsertIdentities: [],
    deleteIdentities: [],
    actor: options.actor,
    events: [],
  };
  const changes: ChangeSummary[] = [];
  const targetsByName = new Map(snapshot.targets.map((t) => [t.name, t]));
  const rolesByName = new Map(snapshot.roles.map((r) => [r.name, r]));
  const identitiesByName = new Map(snapshot.identities.map((i) => [i.name, i]));

  // The state after the change, for reference checks.
  const finalRoles = new Set(rolesByName.keys());
  const finalIdentities = new Map(snapshot.identities.map((i) => [i.name, { kind: i.kind, owner: i.owner, roles: i.roles }]));
  const keyOwners = new Map<string, string>();
  const keysById = new Map<string, SshKeyRow[]>();
  for (const key of snapshot.sshKeys) keysById.set(key.identityId, [...(keysById.get(key.identityId) ?? []), key]);
  const identityNameById = new Map(snapshot.identities.map((i) => [i.id, i.name]));
  for (const key of snapshot.sshKeys) keyOwners.set(key.fingerprint, identityNameById.get(key.identityId) ?? key.identityId);
  const originOf = new Map(desired.map((d) => [`${d.kind}/${d.name}`, d.origin]));
  // Keys of identities being redeclared or deleted are free to move within this change.
  for (const d of desired) {
    const previous = d.kind === 'identity' ? identitiesByName.get(d.name) : undefined;
    for (const key of previous ? (keysById.get(previous.id) ?? []) : []) keyOwners.delete(key.fingerprint);
  }

  const fail = (d: Desired | null, code: string, message: string): never => {
    const origin = d?.origin;
    throw new PolicyError(code, origin ? `${origin.source}: document ${origin.index}: ${message}` : message, {
      ...(origin ? { source: origin.source, documentIndex: origin.index } : {}),
    });
  };

  const event = (
    type: string,
    fields: { identity?: string | null; target?: string | null; data: Record<string, unknown> },
  ): AuditEventInput => ({
    time: now,
    type,
    actor: options.actor,
    identity: fields.identity ?? null,
    target: fields.target ?? null,
    data: { ...fields.data, reason },
  });

  for (const d of desired) {
    const existing =
      d.kind === 'target' ? targetsByName.get(d.name) : d.kind === 'role' ? rolesByName.get(d.name) : identitiesByName.get(d.name);
    const before = (existing?.spec as Record<string, unknown> | undefined) ?? null;
    const action: ChangeSummary['action'] =
      d.spec === null ? 'delete' : !existing ? 'create' : canonicalJson(before) === canonicalJson(d.spec) ? 'unchanged' : 'update';
    changes.push({ action, kind: d.kind, name: d.name });
    if (action === 'unchanged') continue;

    plan.events.push(
      event(`resource.${action}`, {
        identity: d.kind === 'identity' ? d.name : null,
        target: d.kind === 'target' ? d.name : null,
        data: {
          kind: d.kind,
          name: d.name,
          before: redactSecrets(before),
          after: redactSecrets(d.spec),
          changes: redactSecrets(diffSpecs(before, d.spec)),
        },
      }),
    );

    if (d.kind === 'target') {
      if (d.spec === null) plan.deleteTargets.push(d.name);
      else {
        const spec = d.spec as TargetSpec;
        plan.upsertTargets.push({
          name: d.name,
          protocol: spec.protocol,
          address: spec.address,
          labels: spec.labels,
          spec: d.spec,
          createdAt: (existing as TargetRow | undefined)?.createdAt ?? now,
          updatedAt: now,
        });
      }
    } else if (d.kind === 'role') {
      if (d.spec === null) {
        plan.deleteRoles.push(d.name);
        finalRoles.delete(d.name);
      } else {
        finalRoles.add(d.name);
        plan.upsertRoles.push({
          name: d.name,
          spec: d.spec as RoleSpec,
          createdAt: (existing as RoleRow | undefined)?.createdAt ?? now,
          updatedAt: now,
        });
      }
    } else {
      const previous = existing as IdentityRow | undefined;
      const oldRoles = previous?.roles ?? [];
      if (d.spec === null) {
        plan.deleteIdentities.push(previous!.id);
        finalIdentities.delete(d.name);
        for (const role of oldRoles) {
          plan.events.push(event('permission.revoke', { identity: d.name, data: { identity: d.name, role, via: 'identity deleted' } }));
        }
        plan.events.push(
          event('credential.revoke', { identity: d.name, data: { identity: d.name, credentials: 'all tokens and SSH keys', via: 'identity deleted' } }),
        );
        continue;
      }
      const spec = d.spec as IdentitySpec;
      const id = previous?.id ?? newId('idn');
      const sshKeys: SshKeyRow[] = [];
      for (const line of spec.sshKeys) {
        const parsed = parsePublicKeyLine(line);
        const holder = keyOwners.get(parsed.fingerprint);
        if (holder !== undefined) {
          fail(d, 'invalid_resource', `identity "${d.name}": SSH key ${parsed.fingerprint} already belongs to identity "${holder}"`);
        }
        keyOwners.set(parsed.fingerprint, d.name);
        sshKeys.push({ fingerprint: parsed.fingerprint, identityId: id, algorithm: parsed.algorithm, publicKey: parsed.line, comment: parsed.comment });
      }
      finalIdentities.set(d.name, { kind: spec.kind, owner: spec.owner ?? null, roles: spec.roles });
      plan.upsertIdentities.push({
        identity: {
          id,
          name: d.name,
          kind: spec.kind,
          owner: spec.owner ?? null,
          roles: spec.roles,
          spec: d.spec,
          scramSalt: previous?.scramSalt ?? scramSalt().toString('base64'),
          createdAt: previous?.createdAt ?? now,
          updatedAt: now,
        },
        sshKeys,
      });
      for (const role of spec.roles.filter((r) => !oldRoles.includes(r))) {
        plan.events.push(event('permission.grant', { identity: d.name, data: { identity: d.name, role } }));
      }
      for (const role of oldRoles.filter((r) => !spec.roles.includes(r))) {
        plan.events.push(event('permission.revoke', { identity: d.name, data: { identity: d.name, role } }));
      }
    }
  }

  // References are checked on the resulting state, so order inside a file never matters.
  const finalRoleSpecs = new Map(snapshot.roles.map((r) => [r.name, r.spec as RoleSpec]));
  for (const row of plan.upsertRoles) finalRoleSpecs.set(row.name, row.spec as RoleSpec);
  for (const name of plan.deleteRoles) finalRoleSpecs.delete(name);
  for (const [name, spec] of finalRoleSpecs) {
    for (const approver of spec.requireApproval?.approvers ?? []) {
      if (finalRoles.has(approver)) continue;
      const d: Desired | null = originOf.has(`role/${name}`) ? { kind: 'role', name, spec: {}, origin: originOf.get(`role/${name}`) ?? null } : null;
      const deleting = desired.find((x) => x.kind === 'role' && x.name === approver && x.spec === null);
      if (deleting && !d) fail(deleting, 'missing_reference', `role "${approver}" still approves requests for role "${name}"`);
      fail(d, 'missing_reference', `role "${name}": approver role "${approver}" does not exist`);
    }
  }
  for (const [name, identity] of finalIdentities) {
    const d: Desired | null = originOf.has(`identity/${name}`)
      ? { kind: 'identity', name, spec: {}, origin: originOf.get(`identity/${name}`) ?? null }
      : null;
    for (const role of identity.roles) {
      if (!finalRoles.has(role)) {
        const deleting = desired.find((x) => x.kind === 'role' && x.name === role && x.spec === null);
        if (deleting && !d) fail(deleting, 'missing_reference', `role "${role}" is still used by identity "${name}"`);
        fail(d, 'missing_reference', `identity "${name}": role "${role}" does not exist`);
      }
    }
    if (identity.kind === 'bot') {
      const owner = identity.owner ? finalIdentities.get(identity.owner) : undefined;
      if (!owner) {
        const deleting = desired.find((x) => x.kind === 'identity' && x.name === identity.owner && x.spec === null);
        if (deleting && !d) fail(deleting, 'missing_reference', `identity "${identity.owner}" still owns bot "${name}"`);
        fail(d, 'missing_reference', `bot "${name}": owner "${identity.owner}" is not an existing identity`);
      }
      if (owner && owner.kind !== 'human') fail(d, 'missing_reference', `bot "${name}": owner "${identity.owner}" is a bot; owners are humans`);
    }
  }
  return { plan, changes };
}
