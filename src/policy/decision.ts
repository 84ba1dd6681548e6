import { parseDuration } from '../core/duration.js';
import { selectorMatches, targetLabels } from './label-selector.js';
import { describeKubeRequest, kubeRulesAllow } from './kube-rules.js';
import type { Action, Decision, Grant, Identity, KubernetesRequestAction, Role, TargetRef } from './model.js';

export interface DecisionInput {
  identity: Identity;
  /** The identity's standing roles, resolved. Roles it names that no longer exist are absent. */
  roles: Role[];
  target: TargetRef;
  action: Action;
  grants?: Grant[];
  now: Date;
}

interface Candidate {
  role: Role;
  grant: Grant | null;
}

/**
 * The access decision: a pure function of identity, roles, grants, target, action and time.
 * Standing roles are preferred over grants when both allow; the session TTL is the smallest
 * `maxSessionTTL` among the roles that allow, and never beyond a grant's expiry.
 */
export function decide(input: DecisionInput): Decision {
  const { identity, target, action, now } = input;
  const labels = targetLabels(target);
  const candidates: Candidate[] = [
    ...input.roles.map((role) => ({ role, grant: null })),
    ...(input.grants ?? [])
      .filter((grant) => grant.expiresAt.getTime() > now.getTime())
      .map((grant) => ({ role: grant.role, grant })),
  ].filter((candidate) => selectorMatches(candidate.role.spec.targets, labels));

  const deny = (reason: string): Decision => ({ allow: false, reason, roles: [], recordInput: false, portForwarding: false, record: true });
  const protocolOf: Record<Action['kind'], TargetRef['protocol']> = {
    'ssh.session': 'ssh',
    'ssh.port-forward': 'ssh',
    'postgres.connect': 'postgres',
    'kubernetes.request': 'kubernetes',
  };
  if (protocolOf[action.kind] !== target.protocol) {
    return deny(`target ${target.name} is a ${target.protocol} target, not ${protocolOf[action.kind]}`);
  }
  if (candidates.length === 0) {
    return deny(`no role of ${identity.name} grants access to target ${target.name}`);
  }

  switch (action.kind) {
    case 'ssh.session':
      return choosePrincipal(candidates, 'logins', action.login, 'login', now, deny, (decision, principal) => ({
        ...decision,
        login: principal,
      }));
    case 'ssh.port-forward': {
      const allowing = candidates.filter((c) => c.role.spec.logins.includes(action.login) && c.role.spec.portForwarding);
      if (allowing.length === 0) {
        return deny(`port forwarding to ${action.host}:${action.port} is not allowed for ${identity.name} on ${target.name}`);
      }
      return allowed(allowing, now, `port forwarding allowed by role ${allowing[0]!.role.name}`);
    }
    case 'postgres.connect':
      return choosePrincipal(candidates, 'dbUsers', action.dbUser, 'database user', now, deny, (decision, principal) => ({
        ...decision,
        dbUser: principal,
      }));
    case 'kubernetes.request':
      return decideKubernetes(candidates, identity, target, action, now, deny);
  }
}

/**
 * A Kubernetes request: the roles giving the identity Kubernetes users or groups on the
 * target, narrowed by their `kubeRules` (and, for port-forward, `portForwarding`). The
 * decision names whom the gateway impersonates: the requested or first listed kubeUser, or
 * `custos:<identity>` when the roles give only groups (the API server needs a user to
 * impersonate groups, and the identity's bare name could be a cluster user of its own).
 */
function decideKubernetes(
  candidates: Candidate[],
  identity: Identity,
  target: TargetRef,
  action: KubernetesRequestAction,
  now: Date,
  deny: (reason: string) => Decision,
): Decision {
  const withAccess = candidates.filter((c) =>
    action.user ? c.role.spec.kubeUsers.includes(action.user) : c.role.spec.kubeUsers.length + c.role.spec.kubeGroups.length > 0,
  );
  if (withAccess.length === 0) {
    return deny(
      action.user
        ? `kubernetes user ${action.user} is not allowed for ${identity.name} on ${target.name}`
        : `no role of ${identity.name} gives kubernetes users or groups on ${target.name}`,
    );
  }
  let allowing = withAccess.filter((c) => kubeRulesAllow(c.role.spec.kubeRules, action));
  if (allowing.length === 0) {
    return deny(`no role of ${identity.name} allows ${describeKubeRequest(action)} on ${target.name} (kubeRules of ${withAccess.map((c) => c.role.name).join(', ')})`);
  }
  if (action.subresource === 'portforward') {
    allowing = allowing.filter((c) => c.role.spec.portForwarding);
    if (allowing.length === 0) return deny(`port forwarding is not allowed for ${identity.name} on ${target.name} (no role with portForwarding: true allows it)`);
  }
  const decision = allowed(allowing, now, `${describeKubeRequest(action)} allowed by role ${allowing[0]!.role.name}`);
  const user = action.user ?? allowing.find((c) => c.role.spec.kubeUsers.length > 0)?.role.spec.kubeUsers[0] ?? `custos:${identity.name}`;
  return { ...decision, kubeUsers: [user], kubeGroups: unique(allowing.flatMap((c) => c.role.spec.kubeGroups)) };
}

function choosePrincipal(
  candidates: Candidate[],
  field: 'logins' | 'dbUsers',
  requested: string | undefined,
  noun: string,
  now: Date,
  deny: (reason: string) => Decision,
  withPrincipal: (decision: Decision, principal: string) => Decision,
): Decision {
  const offered = unique(candidates.flatMap((c) => c.role.spec[field]));
  if (offered.length === 0) return deny(`no role allows any ${noun} on this target`);
  const principal = requested ?? candidates.find((c) => c.role.spec[field].length > 0)!.role.spec[field][0]!;
  const allowing = candidates.filter((c) => c.role.spec[field].includes(principal));
  if (allowing.length === 0) {
    return deny(`${noun} "${principal}" is not allowed on this target (allowed: ${offered.join(', ')})`);
  }
  return withPrincipal(allowed(allowing, now, `${noun} ${principal} allowed by role ${allowing[0]!.role.name}`), principal);
}

function allowed(allowing: Candidate[], now: Date, reason: string): Decision {
  const standing = allowing.filter((c) => c.grant === null);
  const chosen = standing.length > 0 ? standing : allowing;
  const ttlMs = Math.min(...chosen.map((c) => parseDuration(c.role.spec.maxSessionTTL)));
  let expiresAt = new Date(now.getTime() + ttlMs);
  const grant = chosen.find((c) => c.grant !== null)?.grant ?? null;
  if (grant && grant.expiresAt < expiresAt) expiresAt = grant.expiresAt;
  return {
    allow: true,
    reason: grant ? `${reason} (grant ${grant.id}${grant.ticket ? `, ticket ${grant.ticket}` : ''})` : reason,
    roles: chosen.map((c) => c.role.name),
    ...(grant ? { grant: { id: grant.id, ticket: grant.ticket } } : {}),
    expiresAt,
    recordInput: chosen.some((c) => c.role.spec.recordInput),
    portForwarding: chosen.some((c) => c.role.spec.portForwarding),
    record: true,
  };
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
