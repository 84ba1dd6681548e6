import { parseDuration } from '../core/duration.js';
import { selectorMatches, targetLabels } from './label-selector.js';
import { describeKubeRequest, kubeRulesAllow } from './kube-rules.js';
import type { Action, Decision, Grant, Identity, KubernetesRequestAction, Role, TargetRef } from './model.js';
import { requestCommand } from './request-command.js';

export interface DecisionInput {
  identity: Identity;
  /** The identity's standing roles, resolved. Roles it names that no longer exist are absent. */
  roles: Role[];
  target: TargetRef;
  action: Action;
  /** The identity's grants (approved requests); only those active at `now` count. */
  grants?: Grant[];
  /** For a bot: whether its owner still exists (a bot without an accountable owner is refused). */
  ownerPresent?: boolean;
  now: Date;
}

interface Candidate {
  role: Role;
  grant: Grant | null;
}

/**
 * The access decision: a pure function of identity, roles, grants, target, action and time.
 * A role with `requireApproval` gives nothing by itself: its access comes only through a grant
 * (an approved request) limited to the request's target and principal, and a denial it could
 * lift says how to ask. Standing roles are preferred over grants when both allow; the session
 * TTL is the smallest `maxSessionTTL` among the roles that allow, and never beyond a grant's end.
 */
export function decide(input: DecisionInput): Decision {
  const { identity, target, action, now } = input;
  const labels = targetLabels(target);
  const selects = (role: Role) => selectorMatches(role.spec.targets, labels);
  const candidates: Candidate[] = [
    ...input.roles.filter((role) => !role.spec.requireApproval).map((role) => ({ role, grant: null })),
    ...(input.grants ?? []).filter((grant) => grantApplies(grant, target, now)).map((grant) => ({ role: grantedRole(grant), grant })),
  ].filter((candidate) => selects(candidate.role));
  /** Roles that would allow this target once a request is approved. */
  const gated = input.roles.filter((role) => role.spec.requireApproval && selects(role));

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
  if (identity.kind === 'bot' && input.ownerPresent === false) {
    return deny(`bot ${identity.name} has no owner any more (${identity.owner ?? 'none'} was deleted): a bot without an accountable human is refused`);
  }
  if (candidates.length === 0) {
    const principal = PRINCIPAL_OF[action.kind];
    const requested = action.kind === 'ssh.session' ? action.login : action.kind === 'postgres.connect' ? action.dbUser : undefined;
    return deny(approvalNeeded(identity, target, gated, principal, requested) ?? `no role of ${identity.name} grants access to target ${target.name}`);
  }

  switch (action.kind) {
    case 'ssh.session':
      return choosePrincipal(candidates, PRINCIPAL_OF['ssh.session'], action.login, now, deny, (principal) => approvalNeeded(identity, target, gated, PRINCIPAL_OF['ssh.session'], principal), (decision, principal) => ({
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
      return choosePrincipal(candidates, PRINCIPAL_OF['postgres.connect'], action.dbUser, now, deny, (principal) => approvalNeeded(identity, target, gated, PRINCIPAL_OF['postgres.connect'], principal), (decision, principal) => ({
        ...decision,
        dbUser: principal,
      }));
    case 'kubernetes.request':
      return decideKubernetes(candidates, identity, target, action, now, deny);
  }
}

interface Principal {
  field: 'logins' | 'dbUsers' | 'kubeGroups';
  noun: string;
  flag: 'login' | 'dbUser' | 'kubeGroup';
}

const PRINCIPAL_OF: Record<Action['kind'], Principal> = {
  'ssh.session': { field: 'logins', noun: 'login', flag: 'login' },
  'ssh.port-forward': { field: 'logins', noun: 'login', flag: 'login' },
  'postgres.connect': { field: 'dbUsers', noun: 'database user', flag: 'dbUser' },
  'kubernetes.request': { field: 'kubeGroups', noun: 'kubernetes group', flag: 'kubeGroup' },
};

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
  { field, noun }: Principal,
  requested: string | undefined,
  now: Date,
  deny: (reason: string) => Decision,
  needsApproval: (principal: string | undefined) => string | null,
  withPrincipal: (decision: Decision, principal: string) => Decision,
): Decision {
  const offered = unique(candidates.flatMap((c) => c.role.spec[field]));
  if (offered.length === 0) return deny(needsApproval(requested) ?? `no role allows any ${noun} on this target`);
  const principal = requested ?? candidates.find((c) => c.role.spec[field].length > 0)!.role.spec[field][0]!;
  const allowing = candidates.filter((c) => c.role.spec[field].includes(principal));
  if (allowing.length === 0) {
    return deny(needsApproval(principal) ?? `${noun} "${principal}" is not allowed on this target (allowed: ${offered.join(', ')})`);
  }
  return withPrincipal(allowed(allowing, now, `${noun} ${principal} allowed by role ${allowing[0]!.role.name}`), principal);
}

/** An approved request's grant applies while it lasts, on its target only. */
function grantApplies(grant: Grant, target: TargetRef, now: Date): boolean {
  if (grant.expiresAt.getTime() <= now.getTime()) return false;
  if (grant.startsAt && grant.startsAt.getTime() > now.getTime()) return false;
  return grant.target === undefined || grant.target === target.name;
}

/** The grant's role, narrowed to the principal the request asked for. */
function grantedRole(grant: Grant): Role {
  const { spec } = grant.role;
  const only = (listed: string[], granted: string[] | undefined) => (granted ? listed.filter((item) => granted.includes(item)) : listed);
  return {
    name: grant.role.name,
    spec: {
      ...spec,
      logins: only(spec.logins, grant.logins),
      dbUsers: only(spec.dbUsers, grant.dbUsers),
      kubeGroups: only(spec.kubeGroups, grant.kubeGroups),
      kubeUsers: grant.kubeGroups ? [] : spec.kubeUsers,
    },
  };
}

/**
 * When a role that requires approval would allow this principal: the denial says so and
 * gives the command that asks for it. Null when no such role would.
 */
function approvalNeeded(identity: Identity, target: TargetRef, gated: Role[], principal: Principal, requested: string | undefined): string | null {
  const role = gated.find((r) => (requested ? r.spec[principal.field].includes(requested) : r.spec[principal.field].length > 0));
  if (!role) return null;
  const chosen = requested ?? role.spec[principal.field][0]!;
  const command = requestCommand({
    target: target.name,
    [principal.flag]: chosen,
    ...(identity.kind === 'bot' ? { forBot: identity.name } : {}),
    policy: role.spec.requireApproval!,
  });
  return `${principal.noun} ${chosen} on ${target.name} needs an approved request (role ${role.name} requires approval); ask for it with: ${command}`;
}

function allowed(allowing: Candidate[], now: Date, reason: string): Decision {
  const standing = allowing.filter((c) => c.grant === null);
  const chosen = standing.length > 0 ? standing : allowing;
  const ttlMs = Math.min(...chosen.map((c) => parseDuration(c.role.spec.maxSessionTTL)));
  let expiresAt = new Date(now.getTime() + ttlMs);
  // Of several grants that allow, the one lasting longest: the session is not cut short needlessly.
  const grant = chosen.reduce<Grant | null>((best, c) => (c.grant && (!best || c.grant.expiresAt > best.expiresAt) ? c.grant : best), null);
  if (grant && grant.expiresAt < expiresAt) expiresAt = grant.expiresAt;
  return {
    allow: true,
    reason: grant ? `${reason} (grant ${grant.id}${grant.ticket ? `, ticket ${grant.ticket}` : ''})` : reason,
    roles: chosen.map((c) => c.role.name),
    ...(grant
      ? { grant: { id: grant.id, request: grant.request ?? grant.id, ticket: grant.ticket, approvers: grant.approvers ?? [], until: grant.expiresAt } }
      : {}),
    expiresAt,
    recordInput: chosen.some((c) => c.role.spec.recordInput),
    portForwarding: chosen.some((c) => c.role.spec.portForwarding),
    record: true,
  };
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
