import type { Connection } from 'ssh2';
import type { Logger } from '../../core/logger.js';
import type { Credential, Decision, Identity } from '../../policy/model.js';
import type { RecordingTags } from '../../recorder/asciicast.js';
import type { FileOperationLog } from '../../recorder/file-operation-log.js';
import type { RecordingDigest } from '../../recorder/session-recorder.js';
import type { TargetRow } from '../../store/repositories/resources.js';
import type { ProxyError } from '../errors.js';
import type { ObservedFileOperation } from './file-operation.js';
import type { SshServices } from './ssh-services.js';
import type { UpstreamConnection } from './upstream.js';

export interface AllowedAccess {
  identity: Identity;
  credential: Credential;
  login: string;
  decision: Decision;
  target: TargetRow;
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
  readonly logger: Logger;
  readonly services: SshServices;
  readonly connection: Connection;
  readonly clientAddr: string | null;
  readonly access: AllowedAccess;
  /** Why the session could not start. */
  readonly failure: ProxyError | null;
  readonly ended: boolean;
  tags(channelId: number, channelKind: string, pty: boolean): RecordingTags;
  recordFileOperation(channelId: number, operation: ObservedFileOperation): boolean;
  channelFinished(channel: { readonly id: number }, digest: RecordingDigest | null, bytes: { toClient: number; fromClient: number }): void;
  recordingFailed(detail: string): void;
  recordingStarted(path: string): void;
  fileLogIncomplete(channelId: number, reason: string): void;
  forwardingRefused(kind: 'agent' | 'x11' | 'remote'): void;
}
