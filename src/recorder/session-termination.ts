import type { SessionRow } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { RecorderError } from './errors.js';

export interface TerminationRequest {
  sessionId: string;
  /** Who asks: `os:<user>@<host>` from the admin socket, or the signed-in identity. */
  actor: string;
  reason: string;
}

export interface TerminationOutcome {
  sessionId: string;
  node: string;
  /** The `session.terminate` event's place in the chain. */
  seq: number;
  /** Whether the session was seen ended before the wait ran out, and why it ended. */
  ended: boolean;
  endReason: string | null;
}

const POLL_MS = 100;

/**
 * Ends a live session wherever it runs: the `session.terminate` event (actor and reason) is
 * appended to the audit chain, which announces it to every gateway sharing the store; the
 * one holding the session ends it. Then waits (up to `waitMs`) to report the end.
 */
export async function requestSessionTermination(
  store: Pick<Store, 'sessions' | 'audit'>,
  request: TerminationRequest,
  waitMs = 5000,
): Promise<TerminationOutcome> {
  const session = await store.sessions.get(request.sessionId);
  if (!session) throw new RecorderError('not_found', `no session ${request.sessionId}`);
  if (session.state !== 'live') throw new RecorderError('not_live', `session ${session.id} is not live (it is ${session.state})`);
  const [event] = await store.audit.append([
    {
      time: new Date(),
      type: 'session.terminate',
      actor: request.actor,
      identity: session.identityName,
      sessionId: session.id,
      target: session.target,
      data: { reason: request.reason, protocol: session.protocol, node: session.node },
    },
  ]);
  const ended = await waitForEnd(store, session.id, waitMs);
  return { sessionId: session.id, node: session.node, seq: event!.seq, ended: ended !== null, endReason: ended?.endReason ?? null };
}

async function waitForEnd(store: Pick<Store, 'sessions'>, id: string, waitMs: number): Promise<SessionRow | null> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const row = await store.sessions.get(id);
    if (!row || row.state !== 'live') return row;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}
