import { decide } from './decision.js';
import type { Action, Decision, Grant, Identity, Role, Target } from './model.js';

/**
 * An identity's roles and grants and one target, as they were read at one moment: what a
 * front end that decides many requests per session (Kubernetes API requests) decides from
 * in memory. It is read again whenever permissions change.
 */
export interface PolicySnapshot {
  identity: Identity;
  target: Target;
  roles: Role[];
  grants: Grant[];
  /** For a bot: whether its owner still exists. */
  ownerPresent: boolean;
}

/** The access decision for `action`, from a snapshot (pure). */
export function decideFromSnapshot(snapshot: PolicySnapshot, action: Action, now: Date = new Date()): Decision {
  const { identity, target, roles, grants, ownerPresent } = snapshot;
  return decide({ identity, roles, grants, ownerPresent, target: { name: target.name, protocol: target.protocol, labels: target.labels }, action, now });
}
