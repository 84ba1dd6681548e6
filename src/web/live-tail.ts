import { open, stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { z } from 'zod';
import type { GatewayConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { recordingFormatOf } from '../recorder/recording-format.js';
import type { Store } from '../store/store.js';
import { forbidden, WebError } from './errors.js';
import { parseQuery } from './params.js';
import { asTerminalOutput, parseEvent, parseHeader, recordedWithoutPty } from './replay/cast-lines.js';
import { visibleRecording } from './session-access.js';
import { parseCookies } from './cookies.js';
import { cookieName, ownOrigin, viewerOf } from './viewer-context.js';
import type { ViewLog } from './view-log.js';
import type { WebSessions } from './web-sessions.js';

const liveQuery = z.object({ channel: z.string().max(12).optional() }).strict();
const POLL_MS = 250;
const STATE_EVERY_MS = 1000;
/** How often a watcher's web session is re-checked (sign-out, expiry, token revocation). */
const RECHECK_VIEWER_MS = 15_000;
const COALESCE_CHARS = 64 * 1024;
const MAX_BUFFERED = 8 * 1024 * 1024;
export const LIVE_PROTOCOL = 'v2.asciicast';

interface Prepared {
  sessionId: string;
  path: string;
  /** Still signed in? (The web session is re-checked while the socket is open.) */
  stillSignedIn: () => Promise<boolean>;
}

const prepared = new WeakMap<FastifyRequest, Prepared>();

/**
 * GET /api/sessions/:id/live (WebSocket, subprotocol v2.asciicast): the asciicast header,
 * what the recording holds so far (coalesced), then new events as the recorder flushes them
 * (at least every second), until the session ends. asciinema-player's websocket driver
 * plays it.
 */
export function registerLiveTail(
  app: FastifyInstance,
  deps: { store: Store; config: GatewayConfig; views: ViewLog; logger: Logger; sessions: WebSessions },
): void {
  const { store, config, views, logger, sessions } = deps;
  const cookie = cookieName(config.web.tls);

  app.get<{ Params: { id: string } }>(
    '/api/sessions/:id/live',
    {
      websocket: true,
      // Runs before the upgrade: a refusal is a plain HTTP error, no socket is opened.
      preValidation: async (request) => {
        if (request.headers.origin !== ownOrigin(request)) throw forbidden('live tail: cross-origin or origin-less WebSocket refused');
        const viewer = viewerOf(request);
        const query = parseQuery(liveQuery, request.query);
        const { detail, recording, file } = await visibleRecording(store, config.recordings.dir, viewer, request.params.id, query.channel);
        if ((await recordingFormatOf(file.realPath)) === 'bytes') {
          throw new WebError('not_a_terminal', 'this channel has no terminal to watch: its bytes so far are shown from /bytes', 422);
        }
        await views.record(viewer, {
          type: 'web.recording.live',
          sessionId: detail.session.id,
          target: detail.session.target,
          data: { watched: detail.session.identityName, channel: recording.channel, state: detail.session.state },
        });
        const secret = parseCookies(request.headers.cookie).get(cookie);
        prepared.set(request, {
          sessionId: detail.session.id,
          path: file.realPath,
          stillSignedIn: async () => (await sessions.resolve(secret))?.webSessionId === viewer.webSessionId,
        });
      },
    },
    (socket: WebSocket, request: FastifyRequest) => {
      const target = prepared.get(request);
      if (!target) {
        socket.close(1011, 'not prepared');
        return;
      }
      void tail(socket, target, store, logger);
    },
  );
}

async function tail(socket: WebSocket, target: Prepared, store: Store, logger: Logger): Promise<void> {
  let position = 0;
  let carry = Buffer.alloc(0);
  let headerSent = false;
  let withoutPty = false;
  let lastStateCheck = 0;
  let lastViewerCheck = Date.now();
  let ended = false;
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('message', () => undefined);

  const readNew = async (): Promise<string[]> => {
    const info = await stat(target.path);
    if (info.size < position) throw new WebError('truncated', 'the recording shrank while it was being watched', 500);
    if (info.size === position) return [];
    const handle = await open(target.path, 'r');
    try {
      const length = Math.min(info.size - position, 4 * 1024 * 1024);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      position += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      const lastNewline = data.lastIndexOf(10);
      carry = Buffer.from(data.subarray(lastNewline + 1));
      if (lastNewline < 0) return [];
      return data.subarray(0, lastNewline).toString('utf8').split('\n');
    } finally {
      await handle.close();
    }
  };

  const sendLines = (lines: string[]) => {
    let pending: [number, string, string] | null = null;
    const flush = () => {
      if (pending) socket.send(JSON.stringify(pending));
      pending = null;
    };
    for (const line of lines) {
      if (!headerSent) {
        const header = parseHeader(Buffer.from(line));
        if (!header) throw new WebError('bad_recording', 'not an asciicast v2 recording', 500);
        socket.send(JSON.stringify({ version: 2, width: header.width, height: header.height }));
        headerSent = true;
        withoutPty = recordedWithoutPty(header);
        continue;
      }
      const event = parseEvent(Buffer.from(line));
      if (!event || typeof event[2] !== 'string') continue;
      const [time, code, recorded] = event as [number, string, string];
      const data = code === 'o' && withoutPty ? asTerminalOutput(recorded) : recorded;
      if (code === 'o' && pending && pending[1] === 'o' && pending[2].length < COALESCE_CHARS) {
        pending[2] += data;
        continue;
      }
      flush();
      if (code === 'o' || code === 'r') pending = [time, code, data];
    }
    flush();
  };

  try {
    while (!closed) {
      if (socket.bufferedAmount < MAX_BUFFERED) {
        let lines: string[];
        do {
          lines = await readNew();
          sendLines(lines);
        } while (lines.length > 0 && !closed && socket.bufferedAmount < MAX_BUFFERED);
      }
      if (ended) break;
      if (Date.now() - lastViewerCheck >= RECHECK_VIEWER_MS) {
        lastViewerCheck = Date.now();
        if (!(await target.stillSignedIn())) {
          if (!closed) socket.close(4001, 'signed out');
          return;
        }
      }
      if (Date.now() - lastStateCheck >= STATE_EVERY_MS) {
        lastStateCheck = Date.now();
        const session = await store.sessions.get(target.sessionId);
        // One more read after the session ended picks up the recorder's final flush.
        if (!session || session.state !== 'live') ended = true;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    if (!closed) socket.close(1000, 'session ended');
  } catch (err) {
    logger.warn('live tail stopped', { sessionId: target.sessionId, error: err });
    if (!closed) socket.close(1011, (err as Error).message.slice(0, 100));
  }
}
