import type { Connection } from 'ssh2';
import type { Logger } from '../../core/logger.js';
import type { Credential, Decision, Identity, Target } from '../../policy/model.js';
import type { RecordingTags } from '../../recorder/asciicast.js';
import type { FileOperationLog } from '../../recorder/file-operation-log.js';
import type { SessionLog } from '../../recorder/session-log.js';
import type { RecordingDigest } from '../../recorder/session-recorder.js';
import type { ProxyError } from '../errors.js';
import type { ObservedFileOperation } from './file-operation.js';
import type { SshServices } from './ssh-services.js';
import type { UpstreamConnection } from './upstream.js';

export interface AllowedAccess {
  identity: Identity;
  credential: Credential;
  login: string;
  decision: Decision;
  target: Target;
  /** The id the decision was recorded with; the session takes it. */
  sessionId: string;
}

/**
 * What a session's channels and port forwards use of the SSH session that owns them
 * (implemented by SshSession; the channels never see the rest of it).
 */
export interface SshSessionHost {
  readonly id: string;
  readonly startedAt: Date;
  /** The upstream connection, once made; rejects when the session could not start. */
  readonly ready: Promise<UpstreamConnection>;
  readonly files: FileOperationLog;
  /** Where channel rows, port forwards and the live recording path are written. */
  readonly evidence: SessionLog;
  readonly logger: Logger;
  readonly services: SshServices;
  readonly connection: Connection;
  readonly clientAddr: string | null;
  readonly access: AllowedAccess;
  /** Why the session could not start. */
  readonly failure: ProxyError | null;
  readonly ended: boolean;
  /** Warnings the session was given so far (shown on terminal channels opened later too). */
  readonly warnings: readonly string[];
  tags(channelId: number, channelKind: string, pty: boolean): RecordingTags;
  recordFileOperation(channelId: number, operation: ObservedFileOperation): boolean;
  /** Bytes passed in a channel (live progress). */
  transferred(toClient: number, fromClient: number): void;
  channelFinished(channel: { readonly id: number }, digest: RecordingDigest | null, bytes: { toClient: number; fromClient: number }): void;
  recordingFailed(detail: string): void;
  recordingStarted(path: string): void;
  fileLogIncomplete(channelId: number, reason: string): void;
  forwardingRefused(kind: 'agent' | 'x11' | 'remote'): void;
}
