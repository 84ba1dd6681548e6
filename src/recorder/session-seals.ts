import type { ChainedAuditEvent } from '../core/audit-chain.js';
import { checkRecording } from './recording-check.js';

/** A recording's digest as its session's end event sealed it. */
export interface SealedRecording {
  /** `main` for the session's recording, else the channel id. */
  channel: number | 'main';
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * What a `session.end` (or `session.interrupted`) event sealed in the hash chain: the digest
 * of every recording and, for a database session, of its query log. Anything checked
 * against a seal is as trustworthy as the chain that holds it.
 */
export interface SessionSeal {
  seq: number;
  type: string;
  sessionId: string;
  protocol: string | null;
  recordings: SealedRecording[];
  queries: { statements: number; digest: string } | null;
  /** A Kubernetes session's request log. */
  kubeRequests: { requests: number; digest: string } | null;
}

export const SEAL_TYPES = ['session.end', 'session.interrupted'];

export function sealOf(event: ChainedAuditEvent): SessionSeal | null {
  if (!SEAL_TYPES.includes(event.type) || !event.sessionId) return null;
  const data = event.data as {
    protocol?: unknown;
    recording?: { path?: unknown; bytes?: unknown; sha256?: unknown } | null;
    channelRecordings?: Array<{ channelId?: unknown; path?: unknown; bytes?: unknown; sha256?: unknown }>;
    stats?: { queries?: { statements?: unknown; digest?: unknown }; kubeRequests?: { requests?: unknown; digest?: unknown } };
  };
  const recordings: SealedRecording[] = [];
  const add = (channel: number | 'main', r: { path?: unknown; bytes?: unknown; sha256?: unknown } | null | undefined) => {
    if (r && typeof r.path === 'string' && typeof r.bytes === 'number' && typeof r.sha256 === 'string') {
      recordings.push({ channel, path: r.path, bytes: r.bytes, sha256: r.sha256 });
    }
  };
  for (const channel of Array.isArray(data.channelRecordings) ? data.channelRecordings : []) {
    if (typeof channel?.channelId === 'number') add(channel.channelId, channel);
  }
  // The main recording is usually one of the channels' files, sealed twice: keep it once
  // unless its digest says something else.
  if (data.recording && !recordings.some((r) => r.path === data.recording!.path && r.sha256 === data.recording!.sha256)) add('main', data.recording);
  const queries = data.stats?.queries;
  const kube = data.stats?.kubeRequests;
  return {
    seq: event.seq,
    type: event.type,
    sessionId: event.sessionId,
    protocol: typeof data.protocol === 'string' ? data.protocol : null,
    recordings,
    queries: queries && typeof queries.digest === 'string' ? { statements: Number(queries.statements ?? 0), digest: queries.digest } : null,
    kubeRequests: kube && typeof kube.digest === 'string' ? { requests: Number(kube.requests ?? 0), digest: kube.digest } : null,
  };
}

export interface RecordingProblem {
  sessionId: string;
  channel: number | 'main';
  path: string;
  sealSeq: number;
  kind: 'missing' | 'changed';
  message: string;
}

/** Each sealed recording of a session compared with the file on disk now; the problems named. */
export async function checkSealedRecordings(seal: SessionSeal): Promise<{ checked: number; problems: RecordingProblem[] }> {
  const problems: RecordingProblem[] = [];
  for (const recording of seal.recordings) {
    const check = await checkRecording(recording.path, recording);
    if (check.matches) continue;
    const where = `${recording.path} (session ${seal.sessionId}, ${recording.channel === 'main' ? 'main recording' : `channel ${recording.channel}`}, sealed in ${seal.type} seq ${seal.seq})`;
    problems.push({
      sessionId: seal.sessionId,
      channel: recording.channel,
      path: recording.path,
      sealSeq: seal.seq,
      kind: check.present ? 'changed' : 'missing',
      message: check.present
        ? `recording CHANGED: ${where}: ${check.bytes} bytes sha256 ${check.sha256} on disk, ${recording.bytes} bytes sha256 ${recording.sha256} sealed`
        : `recording MISSING: ${where}: ${check.problem ?? 'cannot be read'}`,
    });
  }
  return { checked: seal.recordings.length, problems };
}
