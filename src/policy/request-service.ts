import { formatDuration, parseDuration } from '../core/duration.js';
import type { AuditEventInput } from '../store/repositories/audit.js';
import type { AccessRequestRow, GrantRow, RequestDetail, RequestState } from '../store/repositories/requests.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { actorName, mayAnswer, mayRevoke, mayViewRequest, planRequest, type RequestActor, type RequestFacts } from './approval-rules.js';
import { PolicyError } from './errors.js';
import { toIdentity, toRole, toTargetRef } from './identity.js';
import { newId } from './ids.js';
import type { Identity, Role } from './model.js';
import { viewerRights } from './viewer-rights.js';

/** What someone asks for (`custos request create`, the viewer, the SSH front door). */
export interface RequestInput {
  target: string;
  login?: string;
  dbUser?: string;
  kubeGroup?: string;
  reason: string;
  ticket?: string;
  /** How long the access lasts once it starts (default: 1h, or the role's maxDuration if shorter). */
  duration?: string;
  /** When the access should start (default: once approved). */
  start?: Date;
  /** A bot the requester owns, whose access this is. */
  forBot?: string;
}

/** Something happened to a request: for outbound notifications (the webhook). */
export interface RequestNotice {
  event: 'created' | 'approved' | 'denied' | 'revoked' | 'expired';
  request: RequestDetail;
  actor: string;
  reason: string | null;
  at: Date;
}

export interface RequestServiceOptions {
  /** A pending request expires unanswered after this long. */
  expireAfterMs: number;
  /** Who writes sweeper events (`gateway:<node>`). */
  gatewayActor: string;
  clock?: () => Date;
  /** After a change is committed (never awaited; must not throw). */
  notify?: (notice: RequestNotice) => void;
  /** A request or grant changed: something may fall due earlier (the sweeper re-arms). */
  changed?: () => void;
}

const DEFAULT_DURATION_MS = 3_600_000;
const CONFLICT_RETRIES = 5;

/**
 * Just-in-time access requests: asking (checked by planRequest), answering (separation of
 * duties by mayAnswer), revoking, listing what the actor may see, and the sweep that
 * expires unanswered requests and ends grants on time. Every change commits with its audit
 * events (`request.*`, `grant.*`), which every gateway sharing the store hears and acts on
 * (live sessions under an ended grant end).
 */
export class RequestService {
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly options: RequestServiceOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  async create(actor: RequestActor, input: RequestInput): Promise<RequestDetail> {
    const requester = this.identityOf(actor, 'ask for access');
    const now = this.clock();
    const subject = input.forBot ? await this.identityNamed(input.forBot) : requester;
    const targetRow = await this.store.resources.target(input.target);
    if (!targetRow) throw new PolicyError('not_found', `no target named "${input.target}"`);
    const subjectRoles = await this.rolesOf(subject);
    const gatedMax = Math.min(
      ...subjectRoles.filter((role) => role.spec.requireApproval).map((role) => parseDuration(role.spec.requireApproval!.maxDuration)),
      DEFAULT_DURATION_MS,
    );
    const durationMs = input.duration ? parseRequestDuration(input.duration) : Number.isFinite(gatedMax) ? gatedMax : DEFAULT_DURATION_MS;
    const planned = planRequest({
      requester,
      subject,
      subjectRoles,
      target: toTargetRef(targetRow),
      ...(input.login ? { login: input.login } : {}),
      ...(input.dbUser ? { dbUser: input.dbUser } : {}),
      ...(input.kubeGroup ? { kubeGroup: input.kubeGroup } : {}),
      reason: input.reason,
      ...(input.ticket ? { ticket: input.ticket } : {}),
      durationMs,
      ...(input.start ? { startsAt: input.start } : {}),
      now,
    });
    if (!planned.ok) throw new PolicyError('request_refused', planned.reason);
    const { request: plan } = planned;
    const row: AccessRequestRow = {
      id: newId('req', 12),
      identityId: subject.id,
      identityName: subject.name,
      identityKind: subject.kind,
      identityOwner: subject.owner,
      requestedBy: requester.name,
      target: targetRow.name,
      protocol: targetRow.protocol as AccessRequestRow['protocol'],
      login: plan.login,
      dbUser: plan.dbUser,
      kubeGroup: plan.kubeGroup,
      role: plan.role.name,
      reason: plan.reason,
      ticket: plan.ticket,
      durationMs: plan.durationMs,
      startsAt: plan.startsAt,
      approvalsRequired: plan.policy.approvals,
      approverRoles: plan.policy.approvers,
      state: 'pending',
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.options.expireAfterMs),
      approvedAt: null,
      closedAt: null,
      closedBy: null,
      closeReason: null,
    };
    await this.store.requests.create(row, [
      this.event(row, 'request.create', requester.name, now, {
        reason: row.reason,
        requestedBy: row.requestedBy,
        identityKind: row.identityKind,
        owner: row.identityOwner,
        login: row.login,
        dbUser: row.dbUser,
        kubeGroup: row.kubeGroup,
        role: row.role,
        duration: formatDuration(row.durationMs),
        startsAt: row.startsAt?.toISOString() ?? null,
        approvalsRequired: row.approvalsRequired,
        approverRoles: row.approverRoles,
        expiresAt: row.expiresAt.toISOString(),
      }),
    ]);
    return this.committed('created', row.id, requester.name, row.reason, now);
  }

  approve(actor: RequestActor, id: string, reason?: string): Promise<RequestDetail> {
    return this.answer(actor, id, 'approve', reason?.trim() || null);
  }

  deny(actor: RequestActor, id: string, reason: string): Promise<RequestDetail> {
    if (!reason.trim()) throw new PolicyError('request_refused', 'a reason is required to deny a request');
    return this.answer(actor, id, 'deny', reason.trim());
  }

  async revoke(actor: RequestActor, id: string, reason: string): Promise<RequestDetail> {
    if (!reason.trim()) throw new PolicyError('request_refused', 'a reason is required to revoke a request');
    const by = actorName(actor);
    const actingAs = actor.kind === 'identity' ? { kind: 'identity' as const, identity: await this.current(actor.identity) } : actor;
    for (let attempt = 1; ; attempt++) {
      const detail = await this.detail(id);
      const verdict = mayRevoke(facts(detail), actingAs);
      if (!verdict.ok) throw new PolicyError('request_refused', verdict.reason);
      const now = this.clock();
      const { request, grant } = detail;
      const events = [this.event(request, 'request.revoke', by, now, { reason: reason.trim(), was: request.state })];
      if (grant && grant.state === 'active') events.push(this.grantEvent(grant, 'grant.end', by, now, { kind: 'revoked', reason: reason.trim() }));
      try {
        await this.store.requests.revoke({ requestId: id, expectState: request.state as 'pending' | 'approved', at: now, by, reason: reason.trim(), events });
      } catch (err) {
        if (err instanceof StoreError && err.code === 'conflict' && attempt < CONFLICT_RETRIES) continue;
        throw err;
      }
      return this.committed('revoked', id, by, reason.trim(), now);
    }
  }

  /** One request, if the actor may see it. */
  async show(actor: RequestActor, id: string): Promise<RequestDetail> {
    const detail = await this.detail(id);
    if (actor.kind === 'identity' && !(await this.seesEverything(actor.identity)) && !mayViewRequest(detail.request, await this.current(actor.identity))) {
      throw new PolicyError('not_found', `no request ${id}`);
    }
    return detail;
  }

  /** Newest first: what the actor may see (admins on the gateway host and auditors: everything). */
  async list(
    actor: RequestActor,
    filter: { state?: RequestState; identity?: string; before?: { createdAt: Date; id: string }; limit?: number } = {},
  ): Promise<RequestDetail[]> {
    const scope = actor.kind === 'identity' ? await this.scopeOf(actor.identity) : null;
    return this.store.requests.list({ ...filter, ...(scope ? { visibleTo: scope } : {}) });
  }

  /**
   * Expires pending requests left unanswered and ends grants whose time ran out. Several
   * gateways may sweep the same store: each change is a conditional update, so exactly one
   * of them writes each event.
   */
  async sweep(): Promise<{ expired: number; ended: number }> {
    const now = this.clock();
    const by = this.options.gatewayActor;
    const due = await this.store.requests.due(now);
    let expired = 0;
    let ended = 0;
    for (const request of due.requests) {
      const event = this.event(request, 'request.expire', by, now, {
        reason: `not answered within ${formatDuration(request.expiresAt.getTime() - request.createdAt.getTime())}`,
      });
      if (await this.store.requests.expirePending(request.id, now, by, [event])) {
        expired += 1;
        void this.committed('expired', request.id, by, 'not answered in time', now).catch(() => undefined);
      }
    }
    for (const grant of due.grants) {
      const event = this.grantEvent(grant, 'grant.end', by, now, { kind: 'expired', reason: `the approved time ran out at ${grant.endsAt.toISOString()}` });
      if (await this.store.requests.expireGrant(grant.id, now, by, [event])) {
        ended += 1;
        void this.committed('expired', grant.requestId, by, 'the approved time ran out', now).catch(() => undefined);
      }
    }
    return { expired, ended };
  }

  /**
   * After a revocation: waits (up to `waitMs`) for the live sessions under the request to
   * end on whichever gateways hold them, and says how many ended and how many are still live.
   */
  async sessionsEnding(requestId: string, waitMs = 5000): Promise<{ ended: number; live: number }> {
    const deadline = Date.now() + waitMs;
    const before = (await this.store.requests.sessionsUnder(requestId)).filter((session) => session.state === 'live').map((session) => session.id);
    let live = before;
    while (live.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await this.store.requests.sessionsUnder(requestId);
      live = now.filter((session) => session.state === 'live' && before.includes(session.id)).map((session) => session.id);
    }
    return { ended: before.length - live.length, live: live.length };
  }

  nextDue(): Promise<Date | null> {
    return this.store.requests.nextDue();
  }

  private async answer(actor: RequestActor, id: string, answer: 'approve' | 'deny', reason: string | null): Promise<RequestDetail> {
    if (actor.kind !== 'identity') {
      throw new PolicyError(
        'request_refused',
        `approving and denying are acts of an identity, and ${actor.name} is an OS user: sign in with your identity's token (custos login, or CUSTOS_TOKEN)`,
      );
    }
    const approver = await this.current(actor.identity);
    for (let attempt = 1; ; attempt++) {
      const detail = await this.detail(id);
      const verdict = mayAnswer(facts(detail), approver, answer);
      if (!verdict.ok) throw new PolicyError('request_refused', verdict.reason);
      const now = this.clock();
      const { request } = detail;
      const approvers = [...facts(detail).approvedBy, approver.name];
      const events: AuditEventInput[] = [
        this.event(request, answer === 'approve' ? 'request.approve' : 'request.deny', approver.name, now, {
          reason,
          ...(answer === 'approve' ? { approvals: verdict.approvals, required: request.approvalsRequired } : {}),
        }),
      ];
      let outcome: Parameters<Store['requests']['answer']>[0]['outcome'] = { kind: 'pending' };
      if (answer === 'deny') outcome = { kind: 'denied', at: now, reason: reason! };
      else if (verdict.complete) {
        const startsAt = request.startsAt && request.startsAt > now ? request.startsAt : now;
        const grant: GrantRow = {
          id: newId('grt', 12),
          requestId: request.id,
          identityId: request.identityId,
          identityName: request.identityName,
          target: request.target,
          login: request.login,
          dbUser: request.dbUser,
          kubeGroup: request.kubeGroup,
          role: request.role,
          ticket: request.ticket,
          approvers,
          startsAt,
          endsAt: new Date(startsAt.getTime() + request.durationMs),
          state: 'active',
          endedAt: null,
          endKind: null,
          endedBy: null,
          endReason: null,
          createdAt: now,
        };
        outcome = { kind: 'approved', at: now, grant };
        events.push(this.grantEvent(grant, 'grant.start', approver.name, now, { from: grant.startsAt.toISOString(), until: grant.endsAt.toISOString(), approvers }));
      }
      try {
        await this.store.requests.answer({
          requestId: id,
          expectApprovals: facts(detail).approvedBy.length,
          approval: { requestId: id, approverId: approver.id, approverName: approver.name, decision: answer, reason, at: now },
          outcome,
          events,
        });
      } catch (err) {
        if (err instanceof StoreError && err.code === 'conflict' && attempt < CONFLICT_RETRIES) continue;
        throw err;
      }
      return this.committed(answer === 'approve' ? 'approved' : 'denied', id, approver.name, reason, now);
    }
  }

  private async committed(event: RequestNotice['event'], id: string, actor: string, reason: string | null, at: Date): Promise<RequestDetail> {
    const detail = await this.detail(id);
    this.options.changed?.();
    this.options.notify?.({ event, request: detail, actor, reason, at });
    return detail;
  }

  private async detail(id: string): Promise<RequestDetail> {
    const detail = await this.store.requests.get(id);
    if (!detail) throw new PolicyError('not_found', `no request ${id}`);
    return detail;
  }

  private identityOf(actor: RequestActor, what: string): Identity {
    if (actor.kind === 'identity') return actor.identity;
    throw new PolicyError(
      'request_refused',
      `to ${what} you act as an identity, and ${actor.name} is an OS user: use your identity's token (custos login, or CUSTOS_TOKEN)`,
    );
  }

  /** The identity as it is now (roles may have changed since its credential was checked). */
  private async current(identity: Identity): Promise<Identity> {
    const row = await this.store.resources.identityById(identity.id);
    if (!row) throw new PolicyError('unknown_credential', `identity ${identity.name} no longer exists`);
    return toIdentity(row);
  }

  private async identityNamed(name: string): Promise<Identity> {
    const row = await this.store.resources.identityByName(name);
    if (!row) throw new PolicyError('not_found', `no identity named "${name}"`);
    return toIdentity(row);
  }

  private async rolesOf(identity: Identity): Promise<Role[]> {
    const rows = await this.store.resources.rolesNamed(identity.roles);
    return rows.sort((a, b) => identity.roles.indexOf(a.name) - identity.roles.indexOf(b.name)).map(toRole);
  }

  /** Auditors (viewer `audit`, or `sessions: all`) see every request. */
  private async seesEverything(identity: Identity): Promise<boolean> {
    const rights = viewerRights(await this.rolesOf(await this.current(identity)));
    return rights.audit || rights.sessions === 'all';
  }

  /** What an identity may see (mayViewRequest, as a store filter): null for everything. */
  private async scopeOf(identity: Identity): Promise<{ identities: string[]; approverRoles: string[] } | null> {
    if (await this.seesEverything(identity)) return null;
    const current = await this.current(identity);
    return { identities: [current.name], approverRoles: current.kind === 'human' ? current.roles : [] };
  }

  private event(request: AccessRequestRow, type: string, actor: string, time: Date, data: Record<string, unknown>): AuditEventInput {
    return {
      time,
      type,
      actor,
      identity: request.identityName,
      target: request.target,
      data: { request: request.id, ticket: request.ticket, ...data },
    };
  }

  private grantEvent(grant: GrantRow, type: string, actor: string, time: Date, data: Record<string, unknown>): AuditEventInput {
    return {
      time,
      type,
      actor,
      identity: grant.identityName,
      target: grant.target,
      data: {
        request: grant.requestId,
        grant: grant.id,
        ticket: grant.ticket,
        role: grant.role,
        login: grant.login,
        dbUser: grant.dbUser,
        kubeGroup: grant.kubeGroup,
        ...data,
      },
    };
  }
}

/** What the approval rules see of a stored request. */
export function facts(detail: RequestDetail): RequestFacts {
  const { request } = detail;
  return {
    id: request.id,
    state: request.state,
    identity: { name: request.identityName, kind: request.identityKind, owner: request.identityOwner },
    requestedBy: request.requestedBy,
    approvalsRequired: request.approvalsRequired,
    approverRoles: request.approverRoles,
    approvedBy: detail.approvals.filter((approval) => approval.decision === 'approve').map((approval) => approval.approverName),
  };
}

function parseRequestDuration(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new PolicyError('request_refused', `"${text}" is not a duration (use e.g. 30m, 1h, 4h)`);
  }
}
