import type { ChainedAuditEvent } from '../core/audit-chain.js';
import { RecorderError } from '../recorder/errors.js';
import { summarizeByteRecording, type ByteRecordingSummary } from '../recorder/byte-recording-summary.js';
import { checkRecording, type RecordingCheck } from '../recorder/recording-check.js';
import { requestSessionTermination, type TerminationOutcome } from '../recorder/session-termination.js';
import type { SessionDetail, SessionRow } from '../store/repositories/sessions.js';
import { optionalNumber, optionalString, optionalTime, stringArg } from './args.js';
import type { Operation } from './context.js';
import { AdminError } from './errors.js';

const STATES = ['live', 'closed', 'interrupted'] as const;
const PROTOCOLS = ['ssh', 'postgres', 'kubernetes'] as const;

export interface SessionShow extends SessionDetail {
  /** The session's main recording checked against its digest. */
  recording: RecordingCheck | null;
  /**
   * Each channel recording checked against its digest, by channel id; a byte recording with
   * what it holds per stream (sizes, digests, text or binary) and the exit status.
   */
  channelRecordings: Array<{ channelId: number; content: ByteRecordingSummary | null } & RecordingCheck>;
  /** The end event in the audit chain, and whether it carries the same digest as the row. */
  endEvent: { seq: number; type: string; sha256: string | null; agreesWithRow: boolean } | null;
}

/** Sessions of every protocol: listing, and one session with its evidence checked. */
export const sessionOperations: Record<string, Operation> = {
  async 'sessions.list'(context, args): Promise<SessionRow[]> {
    const state = optionalString(args, 'state');
    const protocol = optionalString(args, 'protocol');
    if (state && !(STATES as readonly string[]).includes(state)) throw new AdminError('invalid_argument', `state must be one of ${STATES.join(', ')}`);
    if (protocol && !(PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new AdminError('invalid_argument', `protocol must be one of ${PROTOCOLS.join(', ')}`);
    }
    const since = optionalTime(args, 'since');
    const until = optionalTime(args, 'until');
    const identity = optionalString(args, 'identity');
    const target = optionalString(args, 'target');
    const ticket = optionalString(args, 'ticket');
    return context.store.sessions.list({
      ...(identity ? { identity } : {}),
      ...(target ? { target } : {}),
      ...(ticket ? { ticket } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(state ? { state: state as SessionRow['state'] } : {}),
      ...(protocol ? { protocol: protocol as SessionRow['protocol'] } : {}),
      limit: optionalNumber(args, 'limit') ?? 100,
    });
  },

  /** Several sessions with their channels, file operations and port forwards (exports). */
  async 'sessions.details'(context, args): Promise<SessionDetail[]> {
    const ids = args.ids;
    if (!Array.isArray(ids) || ids.length > 100 || ids.some((id) => typeof id !== 'string')) throw new AdminError('invalid_argument', 'ids must be a list of at most 100 session ids');
    const details: SessionDetail[] = [];
    for (const id of ids as string[]) {
      const detail = await context.store.sessions.detail(id);
      if (detail) details.push(detail);
    }
    return details;
  },

  /** Ends a live session wherever it runs (see recorder/session-termination.ts). */
  async 'sessions.kill'(context, args): Promise<TerminationOutcome> {
    const reason = optionalString(args, 'reason') ?? 'no reason given';
    try {
      return await requestSessionTermination(context.store, { sessionId: stringArg(args, 'id'), actor: context.actor, reason });
    } catch (err) {
      if (err instanceof RecorderError && err.code === 'not_found') throw new AdminError('not_found', err.message);
      if (err instanceof RecorderError && err.code === 'not_live') throw new AdminError('invalid_argument', err.message);
      throw err;
    }
  },

  async 'sessions.show'(context, args): Promise<SessionShow> {
    const id = stringArg(args, 'id');
    const detail = await context.store.sessions.detail(id);
    if (!detail) throw new AdminError('not_found', `no session ${id}`);
    const { session, channels } = detail;
    const recording = session.recordingPath
      ? await checkRecording(session.recordingPath, { bytes: session.recordingBytes, sha256: session.recordingSha256 })
      : null;
    const channelRecordings = [];
    for (const channel of channels) {
      if (!channel.recordingPath) continue;
      const check = await checkRecording(channel.recordingPath, { bytes: channel.recordingBytes, sha256: channel.recordingSha256 });
      const content = check.format === 'bytes' ? await summarizeByteRecording(channel.recordingPath).catch(() => null) : null;
      channelRecordings.push({ channelId: channel.channelId, content, ...check });
    }
    const events = await context.store.audit.list({ sessionId: id, limit: 10_000 });
    const end = events.find((event: ChainedAuditEvent) => event.type === 'session.end' || event.type === 'session.interrupted');
    const endSha = ((end?.data as { recording?: { sha256?: string } | null } | undefined)?.recording?.sha256 ?? null) as string | null;
    return {
      ...detail,
      recording,
      channelRecordings,
      endEvent: end ? { seq: end.seq, type: end.type, sha256: endSha, agreesWithRow: endSha === session.recordingSha256 } : null,
    };
  },
};
