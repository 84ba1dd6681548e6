import { formatDuration, parseDuration } from '../core/duration.js';
import { decide } from './decision.js';
import { selectorMatches, targetLabels } from './label-selector.js';
import type { Action, Identity, Role, TargetRef } from './model.js';
import type { ApprovalPolicy } from './resource-schemas.js';

/**
 * Who may ask for what, and who may answer: pure functions of the request, the identities
 * and the roles, table-tested like the access decision (approval-rules.test.ts).
 */

/** Who acts on a request: an identity (proved by its token or key), or an admin on the gateway host. */
export type RequestActor = { kind: 'identity'; identity: Identity } | { kind: 'os'; name: string };

export function actorName(actor: RequestActor): string {
  return actor.kind === 'identity' ? actor.identity.name : actor.name;
}

/** A request as the rules see it. */
export interface RequestFacts {
  id: string;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'revoked';
  /** Whose access it is (a bot for a bot's request). */
  identity: { name: string; kind: 'human' | 'bot'; owner: string | null };
  /** Who asked (the identity itself, or a bot's owner). */
  requestedBy: string;
  approvalsRequired: number;
  approverRoles: string[];
  /** Approvals given so far, by identity name. */
  approvedBy: string[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };
export type ApprovalVerdict = { ok: true; approvals: number; complete: boolean } | { ok: false; reason: string };

/**
 * Whether `approver` may approve (or deny) this request. Separation of duties: the requester
 * never answers their own request, nor does the identity it is for; for a bot's request
 * neither the bot nor its owner; bots never approve; the approver must hold one of the
 * request's approver roles. Each approver counts once.
 */
export function mayAnswer(request: RequestFacts, approver: Identity, answer: 'approve' | 'deny'): ApprovalVerdict {
  if (request.state !== 'pending') return { ok: false, reason: `request ${request.id} is ${request.state}, not pending` };
  if (approver.kind === 'bot') return { ok: false, reason: `${approver.name} is a bot: bots never approve or deny requests` };
  if (approver.name === request.requestedBy || approver.name === request.identity.name) {
    return { ok: false, reason: `${approver.name} asked for this access: nobody approves or denies their own request` };
  }
  if (request.identity.kind === 'bot' && approver.name === request.identity.owner) {
    return { ok: false, reason: `${approver.name} owns the bot ${request.identity.name}: a bot's owner does not approve or deny its requests` };
  }
  if (!approver.roles.some((role) => request.approverRoles.includes(role))) {
    return { ok: false, reason: `${approver.name} holds none of the roles that may answer this request (${request.approverRoles.join(', ')})` };
  }
  if (request.approvedBy.includes(approver.name)) {
    return { ok: false, reason: `${approver.name} already approved request ${request.id}; ${pendingText(request.approvalsRequired - request.approvedBy.length)}` };
  }
  if (answer === 'deny') return { ok: true, approvals: request.approvedBy.length, complete: false };
  const approvals = request.approvedBy.length + 1;
  return { ok: true, approvals, complete: approvals >= request.approvalsRequired };
}

/** Revoking: the requester, the identity it is for, anyone who may approve it, or an admin on the gateway host. */
export function mayRevoke(request: RequestFacts, actor: RequestActor): Verdict {
  if (request.state !== 'pending' && request.state !== 'approved') {
    return { ok: false, reason: `request ${request.id} is ${request.state}: only pending or approved requests can be revoked` };
  }
  if (actor.kind === 'os') return { ok: true };
  const { identity } = actor;
  if (identity.name === request.requestedBy || identity.name === request.identity.name) return { ok: true };
  if (identity.kind === 'human' && identity.roles.some((role) => request.approverRoles.includes(role))) return { ok: true };
  return { ok: false, reason: `${identity.name} may not revoke request ${request.id}: only its requester, its approvers or an admin on the gateway host may` };
}

/**
 * Who sees a request (and the sessions opened under it): the identity it is for, whoever
 * asked, the owner of the bot it is for, and every human who may answer it. (Auditors —
 * viewer `audit` or `sessions: all` — and admins on the gateway host see every request.)
 */
export function mayViewRequest(
  request: { identityName: string; requestedBy: string; identityOwner: string | null; approverRoles: string[] },
  viewer: Identity,
): boolean {
  if ([request.identityName, request.requestedBy, request.identityOwner].includes(viewer.name)) return true;
  return viewer.kind === 'human' && viewer.roles.some((role) => request.approverRoles.includes(role));
}

function pendingText(missing: number): string {
  return missing > 0 ? `${missing} more approval${missing > 1 ? 's' : ''} needed` : 'no more approvals needed';
}

/** What someone asks for. */
export interface RequestAsk {
  requester: Identity;
  /** Whose access it is: the requester, or a bot the requester owns. */
  subject: Identity;
  /** The subject's roles, resolved. */
  subjectRoles: Role[];
  target: TargetRef;
  login?: string;
  dbUser?: string;
  kubeGroup?: string;
  reason: string;
  ticket?: string;
  durationMs: number;
  startsAt?: Date;
  now: Date;
}

export interface PlannedRequest {
  role: Role;
  policy: ApprovalPolicy;
  login: string | null;
  dbUser: string | null;
  kubeGroup: string | null;
  reason: string;
  ticket: string | null;
  durationMs: number;
  startsAt: Date | null;
}

export const MAX_REASON_LENGTH = 1000;

/**
 * Checks a request before it is stored: who may ask for whom, that the access needs an
 * approval at all (a role requiring approval would allow it and no standing role does), the
 * reason, the ticket the role requires or the pattern it must match, and the duration.
 */
export function planRequest(ask: RequestAsk): { ok: true; request: PlannedRequest } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false as const, reason });
  const { requester, subject, target } = ask;
  const reason = ask.reason.trim();
  if (!reason) return fail('a reason is required: say why you need this access');
  if (reason.length > MAX_REASON_LENGTH) return fail(`the reason is longer than ${MAX_REASON_LENGTH} characters`);
  if (subject.name !== requester.name) {
    if (subject.kind !== 'bot') return fail(`${requester.name} cannot ask for access for ${subject.name}: only for themselves, or for a bot they own`);
    if (subject.owner !== requester.name) return fail(`${subject.name} is owned by ${subject.owner ?? 'nobody'}: only a bot's owner asks for access for it`);
  }

  const flags = { login: ask.login, dbUser: ask.dbUser, kubeGroup: ask.kubeGroup };
  const wanted = { ssh: 'login', postgres: 'dbUser', kubernetes: 'kubeGroup' } as const;
  const option = { login: '--login', dbUser: '--db-user', kubeGroup: '--kube-group' } as const;
  for (const [flag, value] of Object.entries(flags) as Array<[keyof typeof flags, string | undefined]>) {
    if (value !== undefined && flag !== wanted[target.protocol]) {
      return fail(`${option[flag]} does not apply to ${target.name}, a ${target.protocol} target (use ${option[wanted[target.protocol]]})`);
    }
  }
  const field = { ssh: 'logins', postgres: 'dbUsers', kubernetes: 'kubeGroups' } as const;
  const requested = flags[wanted[target.protocol]];
  const labels = targetLabels(target);
  const role = ask.subjectRoles.find(
    (r) => r.spec.requireApproval && selectorMatches(r.spec.targets, labels) && (requested ? r.spec[field[target.protocol]].includes(requested) : r.spec[field[target.protocol]].length > 0),
  );
  const principal = requested ?? role?.spec[field[target.protocol]][0];
  const standing = alreadyAllowed(ask, principal);
  if (standing) return fail(`no approval is needed: ${subject.name} already has this access (${standing})`);
  if (!role || !principal) {
    const what = requested ? `${option[wanted[target.protocol]].slice(2)} ${requested} on ${target.name}` : `access to ${target.name}`;
    return fail(`no role of ${subject.name} gives ${what} with approval (a role with requireApproval must select the target and list it)`);
  }
  const policy = role.spec.requireApproval!;
  const ticket = ask.ticket?.trim() || null;
  if (!ticket && policy.ticket === 'required') {
    return fail(`role ${role.name} requires a ticket: add --ticket <reference>${policy.ticketPattern ? ` matching ${policy.ticketPattern}` : ''}`);
  }
  if (ticket && policy.ticketPattern && !new RegExp(policy.ticketPattern).test(ticket)) {
    return fail(`ticket "${ticket}" does not match ${policy.ticketPattern} (role ${role.name})`);
  }
  if (ticket && ticket.length > 200) return fail('the ticket reference is longer than 200 characters');
  const maxMs = parseDuration(policy.maxDuration);
  if (!(ask.durationMs > 0)) return fail('the duration must be positive');
  if (ask.durationMs > maxMs) return fail(`role ${role.name} grants at most ${policy.maxDuration} at a time; ask for ${formatDuration(maxMs)} or less`);
  if (ask.startsAt && ask.startsAt.getTime() < ask.now.getTime() - 60_000) return fail('the start time is in the past');
  return {
    ok: true,
    request: {
      role,
      policy,
      login: target.protocol === 'ssh' ? principal : null,
      dbUser: target.protocol === 'postgres' ? principal : null,
      kubeGroup: target.protocol === 'kubernetes' ? principal : null,
      reason,
      ticket,
      durationMs: ask.durationMs,
      startsAt: ask.startsAt ?? null,
    },
  };
}

/** Why the subject needs no approval for this principal (a standing role allows it), or null. */
function alreadyAllowed(ask: RequestAsk, principal: string | undefined): string | null {
  const { target } = ask;
  if (target.protocol === 'kubernetes') {
    const labels = targetLabels(target);
    const role = ask.subjectRoles.find((r) => !r.spec.requireApproval && selectorMatches(r.spec.targets, labels) && principal !== undefined && r.spec.kubeGroups.includes(principal));
    return role ? `kubernetes group ${principal} allowed by role ${role.name}` : null;
  }
  const action: Action = target.protocol === 'ssh' ? { kind: 'ssh.session', ...(principal ? { login: principal } : {}) } : { kind: 'postgres.connect', ...(principal ? { dbUser: principal } : {}) };
  const standing = decide({ identity: ask.subject, roles: ask.subjectRoles, target, action, now: ask.now });
  return standing.allow ? standing.reason : null;
}
