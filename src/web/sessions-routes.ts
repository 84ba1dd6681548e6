import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayConfig } from '../core/config.js';
import type { Store } from '../store/store.js';
import { decodeCursor, encodeCursor, limit, parseQuery, text, time } from './params.js';
import { recordingFormatOf } from '../recorder/recording-format.js';
import { fileSha256, locateRecording } from './recording-files.js';
import { recordingsOf, visibleSession } from './session-access.js';
import { scopeFor, viewerOf } from './viewer-context.js';
import { badRequest, forbidden, WebError } from './errors.js';
import { requestSessionTermination } from '../recorder/session-termination.js';
import { RecorderError } from '../recorder/errors.js';

const listQuery = z
  .object({
    identity: text,
    target: text,
    protocol: z.enum(['ssh', 'postgres', 'kubernetes']).optional(),
    state: z.enum(['live', 'closed', 'interrupted']).optional(),
    ticket: text,
    since: time,
    until: time,
    cursor: z.string().max(500).optional(),
    limit: limit(200, 50),
  })
  .strict();

const sessionCursor = z.object({ t: z.string(), id: z.string() });

const terminateBody = z.object({ reason: z.string().trim().min(1).max(1000) }).strict();

/** GET /api/sessions, /api/sessions/:id and /api/sessions/:id/verify. */
export function registerSessionRoutes(app: FastifyInstance, deps: { store: Store; config: GatewayConfig }): void {
  const { store, config } = deps;

  app.get('/api/sessions', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(listQuery, request.query);
    const scope = await scopeFor(store, viewer, viewer.rights.sessions, 'sessions');
    const cursor = decodeCursor(query.cursor, sessionCursor);
    const items = await store.viewer.sessionsPage(scope, {
      ...(query.identity ? { identity: query.identity } : {}),
      ...(query.target ? { target: query.target } : {}),
      ...(query.protocol ? { protocol: query.protocol } : {}),
      ...(query.state ? { state: query.state } : {}),
      ...(query.ticket ? { ticket: query.ticket } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
      ...(cursor ? { before: { startedAt: new Date(cursor.t), id: cursor.id } } : {}),
      limit: query.limit + 1,
    });
    const page = items.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page,
      nextCursor: items.length > query.limit && last ? encodeCursor({ t: last.startedAt.toISOString(), id: last.id }) : null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/sessions/:id', async (request) => {
    const viewer = viewerOf(request);
    const detail = await visibleSession(store, viewer, request.params.id);
    const { recordingPath: _path, ...session } = detail.session;
    return {
      session,
      channels: detail.channels.map(({ recordingPath, ...channel }) => ({ ...channel, hasRecording: recordingPath !== null })),
      fileOperations: detail.fileOperations,
      portForwards: detail.portForwards,
      recordings: await Promise.all(
        recordingsOf(detail).map(async ({ path, ...recording }) => ({
          ...recording,
          // asciicast (a terminal: replayed) or bytes (no terminal: shown as text or binary).
          format: await locateRecording(config.recordings.dir, path).then(
            (file) => recordingFormatOf(file.realPath),
            () => null,
          ),
        })),
      ),
    };
  });

  /**
   * Ends a live session the viewer can see, wherever it runs (role right `viewer.terminate`);
   * the `session.terminate` event names the signed-in identity as the actor.
   */
  app.post<{ Params: { id: string } }>('/api/sessions/:id/terminate', async (request) => {
    const viewer = viewerOf(request);
    if (!viewer.rights.terminate) throw forbidden('your roles do not allow ending sessions (viewer.terminate)');
    const parsed = terminateBody.safeParse(request.body);
    if (!parsed.success) throw badRequest('send {"reason": "<why>"} as JSON');
    const detail = await visibleSession(store, viewer, request.params.id);
    try {
      return await requestSessionTermination(store, { sessionId: detail.session.id, actor: viewer.identity.name, reason: parsed.data.reason });
    } catch (err) {
      if (err instanceof RecorderError && err.code === 'not_live') throw new WebError('conflict', err.message, 409);
      throw err;
    }
  });

  /**
   * Each recording's file hashed now, against the digest in the session row and the one in
   * the hash-chained `session.end` event (which an edited row cannot change).
   */
  app.get<{ Params: { id: string } }>('/api/sessions/:id/verify', async (request) => {
    const viewer = viewerOf(request);
    const detail = await visibleSession(store, viewer, request.params.id);
    const endEvent = await store.viewer.sessionEndEvent(detail.session.id);
    const chained = chainedDigests(endEvent?.data ?? null);
    const results = [];
    for (const recording of recordingsOf(detail)) {
      // The session's main recording is sealed twice (row and event): as itself and as its channel.
      const sealed = distinct([recording.sha256, recording.main ? detail.session.recordingSha256 : null]);
      const inChain = distinct([chained.get(recording.channel), recording.main ? chained.get('main') : null]);
      let actual: string | null = null;
      let problem: string | null = null;
      try {
        actual = await fileSha256(await locateRecording(config.recordings.dir, recording.path));
      } catch (err) {
        problem = err instanceof WebError ? err.message : 'the recording cannot be read';
      }
      let status: 'verified' | 'mismatch' | 'missing' | 'live' | 'unsealed';
      if (!actual) status = 'missing';
      else if (detail.session.state === 'live' && sealed.length === 0) status = 'live';
      else if (sealed.length === 0 && inChain.length === 0) status = 'unsealed';
      else if ([...sealed, ...inChain].some((digest) => digest !== actual)) status = 'mismatch';
      else status = 'verified';
      results.push({ channel: recording.channel, status, actual, expected: sealed[0] ?? null, chained: inChain[0] ?? null, problem });
    }
    return { sessionId: detail.session.id, recordings: results };
  });
}

/** Digests carried by a session's end event: `main` and each channel id. */
function chainedDigests(data: Record<string, unknown> | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!data) return out;
  const main = data.recording as { sha256?: unknown } | null | undefined;
  if (main && typeof main.sha256 === 'string') out.set('main', main.sha256);
  const channels = Array.isArray(data.channelRecordings) ? data.channelRecordings : [];
  for (const channel of channels as Array<{ channelId?: unknown; sha256?: unknown }>) {
    if (typeof channel.channelId === 'number' && typeof channel.sha256 === 'string') out.set(String(channel.channelId), channel.sha256);
  }
  return out;
}

function distinct(digests: Array<string | null | undefined>): string[] {
  return [...new Set(digests.filter((digest): digest is string => typeof digest === 'string'))];
}
