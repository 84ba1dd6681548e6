import type { IdentityRow } from '../store/repositories/resources.js';
import type { TargetRow } from '../store/repositories/resources.js';
import type { RoleRow } from '../store/repositories/resources.js';
import type { Identity, Role, Target, TargetRef } from './model.js';
import type { RoleSpec, TargetSpec } from './resource-schemas.js';

export function toIdentity(row: IdentityRow): Identity {
  return { id: row.id, name: row.name, kind: row.kind, owner: row.owner, roles: row.roles };
}

export function toRole(row: RoleRow): Role {
  return { name: row.name, spec: row.spec as RoleSpec };
}

export function toTargetRef(row: TargetRow): TargetRef {
  return { name: row.name, protocol: row.protocol as TargetRef['protocol'], labels: row.labels };
}

export function toTarget(row: TargetRow): Target {
  return { name: row.name, protocol: row.protocol as Target['protocol'], address: row.address, labels: row.labels, spec: row.spec as TargetSpec };
}
