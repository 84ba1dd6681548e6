import type { Approval, Credential, Identity } from '../policy/model.js';
import type { FileOperationRow, PortForwardRow, SessionChannelRow, SessionRow } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { approvalEvidence } from './approval-evidence.js';
import { FileOperationLog, type FileOperationLogOptions } from './file-operation-log.js';

/** One channel of a session (an SSH session channel, a Kubernetes exec stream): its row. */
export type ChannelRecord = SessionChannelRow;
export type ChannelPatch = Partial<Omit<SessionChannelRow, 'sessionId' | 'channelId'>>;
/** One port forward of a session, refused ones included. */
export type PortForwardRecord = Omit<PortForwardRow, 'id'>;
export type PortForwardPatch = Partial<Omit<PortForwardRow, 'id' | 'sessionId'>>;
export type FileOperationRecord = Omit<FileOperationRow, 'id'>;
/** A session as stored (evidence tags, state, digests). */
export type SessionRecord = SessionRow;

export interface SessionStart {
  id: string;
  protocol: SessionRow['protocol'];
  identity: Identity;
  credential: Credential;
  target: { name: string; address: string };
  login?: string | null;
  database?: string | null;
  clientAddr?: string | null;
  node: string;
  /** The approval the session runs under (a grant allowed it). */
  grant?: Approval | null;
  expiresAt?: Date | null;
  /** Roles that allowed the session. */
  roles: string[];
  startedAt?: Date;
  /** Protocol-specific evidence tags (stored in the row's `details` and the start event). */
  details?: Record<string, unknown>;
}

export interface SessionEnd {
  state: 'closed' | 'interrupted';
  reason: string;
  endedAt?: Date;
  recording?: { path: string; bytes: number; sha256: string } | null;
  stats?: Record<string, unknown>;
  /** Digests of the session's channel recordings, carried into the end event. */
  channelRecordings?: Array<{ channelId: number; path: string; bytes: number; sha256: string }>;
  /** The approval the session ran under, carried into the end event. */
  approval?: Approval | null;
}

/** What the end event names of the session (a recovered row carries its approval ids). */
export type EndingSession = Pick<SessionRow, 'id' | 'identityName' | 'target' | 'protocol'> & Partial<Pick<SessionRow, 'requestId' | 'grantId' | 'ticket'>>;

/**
 * Session rows and their start/end audit events, written together: the `session.start`
 * event carries the evidence tags, the `session.end` event carries the recording digests
 * that `custos verify` and the viewer check the files against. Also the rows that hang off
 * a session: channels, port forwards, file operations, live progress. The proxies write
 * their evidence through this, never through the store.
 */
export class SessionLog {
  constructor(private readonly store: Pick<Store, 'sessions'>) {}

  addChannel(row: ChannelRecord): Promise<void> {
    return this.store.sessions.addChannel(row);
  }

  updateChannel(sessionId: string, channelId: number, patch: ChannelPatch): Promise<void> {
    return this.store.sessions.updateChannel(sessionId, channelId, patch);
  }

  channels(sessionId: string): Promise<ChannelRecord[]> {
    return this.store.sessions.channels(sessionId);
  }

  addPortForward(row: PortForwardRecord): Promise<number> {
    return this.store.sessions.addPortForward(row);
  }

  updatePortForward(id: number, patch: PortForwardPatch): Promise<void> {
    return this.store.sessions.updatePortForward(id, patch);
  }

  /** A batched writer of one session's file operations (SFTP, scp). */
  fileOperations(options: FileOperationLogOptions = {}): FileOperationLog {
    return new FileOperationLog(this.store, options);
  }

  /** The main recording's path while the session is live (its digest comes with `end`). */
  setRecordingPath(sessionId: string, path: string): Promise<void> {
    return this.store.sessions.setRecordingPath(sessionId, path);
  }

  /** Live progress (last activity, bytes, statements) for `sessions ls --state live`. */
  activity(sessionId: string, lastActivityAt: Date, stats: Record<string, unknown>): Promise<void> {
    return this.store.sessions.updateActivity(sessionId, lastActivityAt, stats);
  }

  /** Sessions a node left `live` (it stopped without ending them). */
  liveOnNode(node: string): Promise<SessionRecord[]> {
    return this.store.sessions.liveOnNode(node);
  }

  async open(start: SessionStart): Promise<void> {
    const startedAt = start.startedAt ?? new Date();
    await this.store.sessions.open(
      {
        id: start.id,
        protocol: start.protocol,
        state: 'live',
        identityId: start.identity.id,
        identityName: start.identity.name,
        identityKind: start.identity.kind,
        identityOwner: start.identity.owner,
        credentialId: start.credential.id,
        target: start.target.name,
        targetAddress: start.target.address,
        login: start.login ?? null,
        database: start.database ?? null,
        clientAddr: start.clientAddr ?? null,
        node: start.node,
        grantId: start.grant?.id ?? null,
        requestId: start.grant?.request ?? null,
        ticket: start.grant?.ticket ?? null,
        startedAt,
        endedAt: null,
        expiresAt: start.expiresAt ?? null,
        endReason: null,
        recordingPath: null,
        recordingBytes: null,
        recordingSha256: null,
        stats: {},
        details: start.details ?? {},
        lastActivityAt: null,
      },
      {
        time: startedAt,
        type: 'session.start',
        actor: start.identity.name,
        identity: start.identity.name,
        sessionId: start.id,
        target: start.target.name,
        data: {
          protocol: start.protocol,
          identityKind: start.identity.kind,
          owner: start.identity.owner,
          credential: start.credential.id,
          targetAddress: start.target.address,
          login: start.login ?? null,
          database: start.database ?? null,
          clientAddr: start.clientAddr ?? null,
          node: start.node,
          grant: start.grant ? { id: start.grant.id, ticket: start.grant.ticket } : null,
          approval: approvalEvidence(start.grant),
          roles: start.roles,
          expiresAt: start.expiresAt?.toISOString() ?? null,
          details: start.details ?? {},
        },
      },
    );
  }

  async end(session: EndingSession, end: SessionEnd): Promise<void> {
    const approval =
      approvalEvidence(end.approval) ?? (session.requestId ? { request: session.requestId, grant: session.grantId ?? null, ticket: session.ticket ?? null } : null);
    const endedAt = end.endedAt ?? new Date();
    await this.store.sessions.end(
      session.id,
      {
        state: end.state,
        endedAt,
        endReason: end.reason,
        ...(end.recording
          ? { recordingPath: end.recording.path, recordingBytes: end.recording.bytes, recordingSha256: end.recording.sha256 }
          : {}),
        ...(end.stats ? { stats: end.stats } : {}),
      },
      {
        time: endedAt,
        type: end.state === 'interrupted' ? 'session.interrupted' : 'session.end',
        actor: session.identityName,
        identity: session.identityName,
        sessionId: session.id,
        target: session.target,
        data: {
          protocol: session.protocol,
          reason: end.reason,
          recording: end.recording ?? null,
          channelRecordings: end.channelRecordings ?? [],
          stats: end.stats ?? {},
          ...(approval ? { approval } : {}),
        },
      },
    );
  }
}
