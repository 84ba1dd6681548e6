import type { Connection } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { newId } from '../../policy/ids.js';
import type { TargetSpec } from '../../policy/resource-schemas.js';
import type { RecordingTags } from '../../recorder/asciicast.js';
import { FileOperationLog } from '../../recorder/file-operation-log.js';
import type { RecordingDigest } from '../../recorder/session-recorder.js';
import { ProxyError } from '../errors.js';
import type { ObservedFileOperation } from './file-operation.js';
import { messages } from './operator-messages.js';
import { PortForwards } from './port-forward.js';
import { SessionChannel } from './session-channel.js';
import type { AllowedAccess, SshSessionHost } from './session-host.js';
import type { SshServices } from './ssh-services.js';
import { resolveCredentials, UpstreamConnection, type UpstreamTarget } from './upstream.js';

/** How long a session that could not start waits for the client to open a channel and read why. */
const REFUSAL_GRACE_MS = 30_000;

/** The longest delay setTimeout accepts; longer TTLs are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One SSH connection that was allowed: the `sessions` row, the upstream connection made
 * with the target's credentials, the session channels (each recorded) and port forwards,
 * the TTL, and the end — recordings closed, then the row and the `session.end` event with
 * the recording digests.
 */
export class SshSession implements SshSessionHost {
  readonly id = newId('ses');
  readonly startedAt = new Date();
  readonly ready: Promise<UpstreamConnection>;
  readonly files: FileOperationLog;
  readonly logger: Logger;
  private readonly channels = new Set<SessionChannel>();
  private readonly digests: Array<{ channelId: number; digest: RecordingDigest }> = [];
  private readonly forwards: PortForwards;
  private nextChannelId = 0;
  private opened = false;
  private upstream: UpstreamConnection | null = null;
  private ttlTimer: NodeJS.Timeout | null = null;
  private ending: Promise<void> | null = null;
  /** Why the session could not start (shown on every channel the client opens). */
  failure: ProxyError | null = null;
  private bytes = { toClient: 0, fromClient: 0 };
  private mainRecording: string | null = null;
  /** Channels whose file transfer protocol could not be followed: channel id → why. */
  private readonly fileLogsIncomplete: Record<string, string> = {};

  constructor(
    readonly services: SshServices,
    readonly connection: Connection,
    readonly clientAddr: string | null,
    readonly access: AllowedAccess,
  ) {
    this.logger = services.context.logger.child({ session: this.id });
    this.files = new FileOperationLog(services.context.store, {
      onFailure: (error) => void this.end(`file operations cannot be logged: ${error.message}`, messages.recordingFailed(error.message)),
    });
    this.forwards = new PortForwards(this);
    this.ready = this.begin();
    this.ready.catch(() => undefined);
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  get target(): UpstreamTarget {
    const row = this.access.target;
    return { name: row.name, address: row.address, spec: row.spec as TargetSpec };
  }

  /** Takes over the connection's channel and forwarding requests. */
  serve(): Promise<void> {
    const { connection } = this;
    connection.on('session', (accept) => {
      if (this.ended && !this.failure) return;
      const channel = new SessionChannel(this, this.nextChannelId++, accept());
      this.channels.add(channel);
    });
    connection.on('tcpip', (accept, reject, info) => void this.forwards.open(accept, reject, info, this.nextChannelId++));
    connection.on('request', (_accept, reject, name) => {
      reject?.();
      if ((name as string) === 'tcpip-forward' || (name as string) === 'streamlocal-forward@openssh.com') this.forwardingRefused('remote');
    });
    connection.on('close', () => void this.end('the client disconnected'));
    return this.ready.then(
      () => undefined,
      () => undefined,
    );
  }

  tags(channelId: number, channelKind: string, pty: boolean): RecordingTags {
    const { identity, credential, decision, login } = this.access;
    return {
      sessionId: this.id,
      channelId,
      channelKind,
      protocol: 'ssh',
      identity: { name: identity.name, kind: identity.kind, owner: identity.owner },
      credential: credential.id,
      target: this.access.target.name,
      login,
      grant: decision.grant ?? null,
      node: this.services.context.config.nodeName,
      clientAddr: this.clientAddr,
      recordInput: decision.recordInput,
      pty,
    };
  }

  recordFileOperation(channelId: number, operation: ObservedFileOperation): boolean {
    return this.files.record({ sessionId: this.id, channelId, ...operation });
  }

  channelFinished(channel: SessionChannel, digest: RecordingDigest | null, bytes: { toClient: number; fromClient: number }): void {
    this.channels.delete(channel);
    if (digest) this.digests.push({ channelId: channel.id, digest });
    this.bytes.toClient += bytes.toClient;
    this.bytes.fromClient += bytes.fromClient;
    this.services.metrics.bytes('to_client', bytes.toClient);
    this.services.metrics.bytes('from_client', bytes.fromClient);
  }

  /** A recording or log of this session failed: end it, telling the operator why. */
  recordingFailed(detail: string): void {
    this.services.metrics.recordingFailures();
    void this.end(`recording failed: ${detail}`, messages.recordingFailed(detail));
  }

  /** The first recording of the session is its main one: the viewer finds it while live. */
  recordingStarted(path: string): void {
    if (this.mainRecording) return;
    this.mainRecording = path;
    void this.services.context.store.sessions
      .setRecordingPath(this.id, path)
      .catch((error: unknown) => this.logger.error('could not note the recording of a live session', { error }));
  }

  /**
   * A file transfer's protocol could not be followed: its operations may be missing (its
   * bytes are in its recording). Flagged in the session's stats and the audit log.
   */
  fileLogIncomplete(channelId: number, reason: string): void {
    this.fileLogsIncomplete[channelId] = reason;
    this.logger.warn('file operations could not be followed', { channel: channelId, reason });
    void this.services.context.audit
      .record({
        type: 'ssh.file-log.incomplete',
        actor: this.access.identity.name,
        identity: this.access.identity.name,
        sessionId: this.id,
        target: this.access.target.name,
        data: { channelId, reason },
      })
      .catch((error: unknown) => this.logger.error('could not record an incomplete file log', { error }));
  }

  forwardingRefused(kind: 'agent' | 'x11' | 'remote'): void {
    void this.services.context.audit
      .record({
        type: 'ssh.forwarding.refused',
        actor: this.access.identity.name,
        identity: this.access.identity.name,
        sessionId: this.id,
        target: this.access.target.name,
        data: { kind, login: this.access.login },
      })
      .catch((error: unknown) => this.logger.error('could not record a refused forwarding', { error }));
  }

  /**
   * Ends the session once: channels are told `message` (if any) and closed, recordings
   * finalized, forwards closed, the file log flushed, then the row and its end event.
   * A session that failed to start (`failure`) keeps its channels: each tells the operator
   * why as it is opened, and the connection closes after that (or after a grace period).
   */
  end(reason: string, message?: string): Promise<void> {
    return (this.ending ??= (async () => {
      if (this.ttlTimer) clearTimeout(this.ttlTimer);
      if (!this.failure) await Promise.allSettled([...this.channels].map((channel) => channel.terminate(message)));
      await this.forwards.closeAll();
      this.upstream?.end();
      const filesFailed = await this.files.flush().then(
        () => null,
        (error: unknown) => errorMessage(error),
      );
      if (this.failure) setTimeout(() => this.connection.end(), REFUSAL_GRACE_MS).unref();
      else this.connection.end();
      if (!this.opened) return;
      this.services.metrics.sessionsActive(-1);
      const recordings = [...this.digests].sort((a, b) => a.channelId - b.channelId);
      try {
        await this.services.context.sessions.end(
          { id: this.id, identityName: this.access.identity.name, target: this.access.target.name, protocol: 'ssh' },
          {
            state: 'closed',
            reason: filesFailed ? `${reason}; file operations lost: ${filesFailed}` : reason,
            recording: recordings[0]?.digest ?? null,
            channelRecordings: recordings.map(({ channelId, digest }) => ({ channelId, ...digest })),
            stats: {
              channels: this.nextChannelId,
              recordings: recordings.length,
              fileOperations: this.files.count,
              portForwards: this.forwards.count,
              ...(Object.keys(this.fileLogsIncomplete).length ? { fileLogIncomplete: this.fileLogsIncomplete } : {}),
              bytesToClient: this.bytes.toClient,
              bytesFromClient: this.bytes.fromClient,
            },
          },
        );
      } catch (error) {
        this.logger.error('could not record the end of an ssh session', { error });
      }
    })());
  }

  private async begin(): Promise<UpstreamConnection> {
    const { context } = this.services;
    const { identity, credential, decision, login, target } = this.access;
    try {
      await context.sessions.open({
        id: this.id,
        protocol: 'ssh',
        identity,
        credential,
        target: { name: target.name, address: target.address },
        login,
        clientAddr: this.clientAddr,
        node: context.config.nodeName,
        grant: decision.grant ?? null,
        expiresAt: decision.expiresAt ?? null,
        roles: decision.roles,
        startedAt: this.startedAt,
      });
    } catch (error) {
      this.logger.error('could not open an ssh session row', { error });
      this.failure = new ProxyError('audit_unavailable', messages.unavailable);
      void this.end('the session could not be opened');
      throw this.failure;
    }
    this.opened = true;
    this.services.metrics.sessionsActive(1);
    if (decision.expiresAt) this.armTtl(decision.expiresAt);
    try {
      const credentials = await resolveCredentials(this.target, login);
      const upstream = await UpstreamConnection.connect(this.target, login, credentials, {
        onHostKeyMismatch: (mismatch) =>
          void context.audit
            .record({
              type: 'ssh.hostkey.mismatch',
              actor: `gateway:${context.config.nodeName}`,
              identity: identity.name,
              sessionId: this.id,
              target: target.name,
              data: { address: target.address, expected: mismatch.expected, presented: mismatch.presented },
            })
            .catch((error: unknown) => this.logger.error('could not record a host key mismatch', { error })),
      });
      if (this.ended) {
        upstream.end();
        throw new ProxyError('session_ended', 'the session ended');
      }
      this.upstream = upstream;
      upstream.on('close', () => void this.end(`${target.name} closed the connection`, messages.targetClosed(target.name)));
      return upstream;
    } catch (error) {
      const detail = error instanceof ProxyError && error.code !== 'credentials_missing' ? error.message : 'the gateway could not connect (see the gateway log)';
      if (error instanceof ProxyError && error.code === 'session_ended') throw error;
      this.logger.warn('ssh upstream connection failed', { target: target.name, login, error: errorMessage(error) });
      this.failure = new ProxyError('upstream_failed', messages.upstreamFailed(target.name, detail), { cause: error });
      void this.end(`upstream connection failed: ${errorMessage(error)}`);
      throw this.failure;
    }
  }

  private armTtl(expiresAt: Date): void {
    const left = expiresAt.getTime() - Date.now();
    if (left > MAX_TIMER_MS) {
      this.ttlTimer = setTimeout(() => this.armTtl(expiresAt), MAX_TIMER_MS);
      return;
    }
    this.ttlTimer = setTimeout(() => void this.end('maxSessionTTL reached', messages.ttlReached(expiresAt)), Math.max(0, left));
  }
}
