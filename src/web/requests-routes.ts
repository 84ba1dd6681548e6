import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RequestActor } from '../policy/approval-rules.js';
import { PolicyError } from '../policy/errors.js';
import type { RequestService } from '../policy/request-service.js';
import { requestView } from '../policy/request-view.js';
import { StoreError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { badRequest, notFound, WebError } from './errors.js';
import { decodeCursor, encodeCursor, limit, parseQuery, text } from './params.js';
import { callerOf } from './viewer-context.js';

const listQuery = z
  .object({
    state: z.enum(['pending', 'approved', 'denied', 'expired', 'revoked']).optional(),
    identity: text,
    cursor: z.string().max(500).optional(),
    limit: limit(200, 50),
  })
  .strict();

const name = z.string().trim().min(1).max(200);
const createBody = z
  .object({
    target: name,
    login: name.optional(),
    dbUser: name.optional(),
    kubeGroup: name.optional(),
    reason: z.string().max(2000),
    ticket: z.string().max(200).optional(),
    duration: z.string().max(40).optional(),
    start: z.string().datetime({ offset: true }).optional(),
    for: name.optional(),
  })
  .strict();

const answerBody = z.object({ reason: z.string().max(2000).optional() }).strict();

const requestCursor = z.object({ t: z.string(), id: z.string() });

/**
 * The access request API, for the viewer (cookie + CSRF) and for programs acting as an
 * identity (`Authorization: Bearer <token>`, no CSRF: the CLI's `custos request …`):
 * GET/POST /api/requests, GET /api/requests/:id (with the sessions opened under it),
 * POST /api/requests/:id/approve, /deny, /revoke.
 */
export function registerRequestRoutes(app: FastifyInstance, deps: { store: Store; requests: RequestService }): void {
  const { store, requests } = deps;
  const actorOf = (request: FastifyRequest): RequestActor => ({ kind: 'identity', identity: callerOf(request).identity });

  app.get('/api/requests', async (request) => {
    const query = parseQuery(listQuery, request.query);
    const cursor = decodeCursor(query.cursor, requestCursor);
    const rows = await policyCall(() =>
      requests.list(actorOf(request), {
        ...(query.state ? { state: query.state } : {}),
        ...(query.identity ? { identity: query.identity } : {}),
        ...(cursor ? { before: { createdAt: new Date(cursor.t), id: cursor.id } } : {}),
        limit: query.limit + 1,
      }),
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1)?.request;
    return {
      items: page.map(requestView),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ t: last.createdAt.toISOString(), id: last.id }) : null,
    };
  });

  app.post('/api/requests', async (request, reply) => {
    const parsed = createBody.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const body = parsed.data;
    const created = await policyCall(() =>
      requests.create(actorOf(request), {
        target: body.target,
        reason: body.reason,
        ...(body.login ? { login: body.login } : {}),
        ...(body.dbUser ? { dbUser: body.dbUser } : {}),
        ...(body.kubeGroup ? { kubeGroup: body.kubeGroup } : {}),
        ...(body.ticket ? { ticket: body.ticket } : {}),
        ...(body.duration ? { duration: body.duration } : {}),
        ...(body.start ? { start: new Date(body.start) } : {}),
        ...(body.for ? { forBot: body.for } : {}),
      }),
    );
    return reply.status(201).send(requestView(created));
  });

  app.get<{ Params: { id: string } }>('/api/requests/:id', async (request) => {
    const detail = await policyCall(() => requests.show(actorOf(request), request.params.id.slice(0, 100)));
    return { ...requestView(detail), sessions: await store.requests.sessionsUnder(detail.request.id) };
  });

  for (const answer of ['approve', 'deny', 'revoke'] as const) {
    app.post<{ Params: { id: string } }>(`/api/requests/:id/${answer}`, async (request) => {
      const parsed = answerBody.safeParse(request.body ?? {});
      if (!parsed.success) throw badRequest('send {"reason": "<why>"} as JSON');
      const reason = parsed.data.reason ?? '';
      const id = request.params.id.slice(0, 100);
      const actor = actorOf(request);
      const done = await policyCall(() =>
        answer === 'approve' ? requests.approve(actor, id, reason) : answer === 'deny' ? requests.deny(actor, id, reason) : requests.revoke(actor, id, reason),
      );
      if (answer !== 'revoke') return requestView(done);
      return { ...requestView(done), sessionsEnding: await requests.sessionsEnding(id) };
    });
  }
}

/** Policy refusals become HTTP answers with their reason; a concurrent change is a 409. */
async function policyCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof PolicyError) {
      if (err.code === 'not_found') throw notFound(err.message);
      if (err.code === 'unknown_credential') throw new WebError('unauthorized', err.message, 401);
      throw new WebError('refused', err.message, 403);
    }
    if (err instanceof StoreError && err.code === 'conflict') throw new WebError('conflict', err.message, 409);
    if (err instanceof StoreError && err.code === 'not_found') throw notFound(err.message);
    throw err;
  }
}
