import type { RequestActor } from '../policy/approval-rules.js';
import { requestView, type RequestView } from '../policy/request-view.js';
import { optionalNumber, optionalString, optionalTime, stringArg } from './args.js';
import { requestsOf, type Operation, type OperationContext } from './context.js';
import { AdminError } from './errors.js';

const STATES = ['pending', 'approved', 'denied', 'expired', 'revoked'] as const;

/** On the admin socket the actor is an OS user: it may list, show and revoke; asking and answering need an identity. */
function osActor(context: OperationContext): RequestActor {
  return { kind: 'os', name: context.actor };
}

export function requestState(args: Record<string, unknown>): (typeof STATES)[number] | undefined {
  const state = optionalString(args, 'state');
  if (state && !(STATES as readonly string[]).includes(state)) throw new AdminError('invalid_argument', `state must be one of ${STATES.join(', ')}`);
  return state as (typeof STATES)[number] | undefined;
}

export const requestOperations: Record<string, Operation> = {
  async 'requests.list'(context, args): Promise<RequestView[]> {
    const state = requestState(args);
    const identity = optionalString(args, 'identity');
    const rows = await requestsOf(context).list(osActor(context), {
      ...(state ? { state } : {}),
      ...(identity ? { identity } : {}),
      limit: optionalNumber(args, 'limit') ?? 100,
    });
    return rows.map(requestView);
  },

  /** One request with the sessions opened under it. */
  async 'requests.show'(context, args) {
    const detail = await requestsOf(context).show(osActor(context), stringArg(args, 'id'));
    return { ...requestView(detail), sessions: await context.store.requests.sessionsUnder(detail.request.id) };
  },

  /** Revokes, then waits (up to 5 s) for the live sessions under it to end wherever they run. */
  async 'requests.revoke'(context, args) {
    const requests = requestsOf(context);
    const id = stringArg(args, 'id');
    const done = requestView(await requests.revoke(osActor(context), id, optionalString(args, 'reason') ?? ''));
    return { ...done, sessionsEnding: await requests.sessionsEnding(id) };
  },

  /** Refused with the reason (an OS user is no identity); here so the CLI can say why. */
  async 'requests.create'(context, args) {
    const start = optionalTime(args, 'start');
    return requestsOf(context).create(osActor(context), { target: stringArg(args, 'target'), reason: optionalString(args, 'reason') ?? '', ...(start ? { start } : {}) });
  },

  async 'requests.approve'(context, args) {
    return requestsOf(context).approve(osActor(context), stringArg(args, 'id'), optionalString(args, 'reason'));
  },

  async 'requests.deny'(context, args) {
    return requestsOf(context).deny(osActor(context), stringArg(args, 'id'), optionalString(args, 'reason') ?? '');
  },
};
