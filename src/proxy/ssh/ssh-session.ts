import type { Connection } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecordingTags } from '../../recorder/asciicast.js';
import type { FileOperationLog } from '../../recorder/file-operation-log.js';
import type { SessionLog } from '../../recorder/session-log.js';
import type { RecordingDigest } from '../../recorder/session-recorder.js';
import { ProxyError } from '../errors.js';
import type { LiveSession } from '../lifecycle/live-session.js';
import type { ObservedFileOperation } from './file-operation.js';
import { messages } from './operator-messages.js';
import { PortForwards } from './port-forward.js';
import { SessionChannel } from './session-channel.js';
import type { AllowedAccess, SshSessionHost } from './session-host.js';
import { OPEN_FAILURE, rejectChannelOpen } from './ssh2-internals.js';
import type { SshServices } from './ssh-services.js';
import { resolveCredentials, UpstreamConnection, type UpstreamTarget } from './upstream.js';

/** How long a session that could not start waits for the client to open a channel and read why. */
const REFUSAL_GRACE_MS = 30_000;

/**
 * One SSH connection that was allowed, on top of its LiveSession (the protocol-neutral
 * lifecycle: row, start/end events, deadline, kills, revocations, shutdown): the upstream
 * connection made with the target's credentials, the session channels (each recorded) and
 * port forwards, and the end — recordings closed, then the session closed with their digests.
 */
export class SshSession implements SshSessionHost {
  readonly id: string;
  readonly startedAt: Date;
  readonly ready: Promise<UpstreamConnection>;
  readonly files: FileOperationLog;
  readonly logger: Logger;
  readonly evidence: SessionLog;
  private readonly channels = new Set<SessionChannel>();
  private readonly digests: Array<{ channelId: number; digest: RecordingDigest }> = [];
  private readonly forwards: PortForwards;
  private nextChannelId = 0;
  private counted = false;
  private upstream: UpstreamConnection | null = null;
  private ending: Promise<void> | null = null;
  /** Why the session could not start (shown on every channel the client opens). */
  failure: ProxyError | null = null;
  private bytes = { toClient: 0, fromClient: 0 };
  private mainRecording: string | null = null;
  private refusedChannels = 0;
  /** Channels whose file transfer protocol could not be followed: channel id → why. */
  private readonly fileLogsIncomplete: Record<string, string> = {};
  /** Warnings given while the session runs (its access ends soon): channels opened later show them too. */
  readonly warnings: string[] = [];

  constructor(
    readonly services: SshServices,
    readonly connection: Connection,
    readonly clientAddr: string | null,
    readonly access: AllowedAccess,
    readonly live: LiveSession,
  ) {
    this.id = live.id;
    this.startedAt = live.startedAt;
    this.logger = live.logger;
    this.evidence = services.context.evidence.sessions;
    this.files = this.evidence.fileOperations({
      onFailure: (error) => void this.end(`file operations cannot be logged: ${error.message}`, messages.recordingFailed(error.message)),
    });
    this.forwards = new PortForwards(this);
    live.progress = () => ({ channels: this.nextChannelId, fileOperations: this.files.count, portForwards: this.forwards.count });
    live.handle({
      terminate: (ending) => void this.end(ending.reason, `custos: ${ending.message}`),
      warn: (message) => {
        this.warnings.push(`custos: ${message}`);
        for (const channel of this.channels) channel.notice(`custos: ${message}`);
      },
    });
    this.ready = this.begin();
    this.ready.catch(() => undefined);
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  get target(): UpstreamTarget {
    const { target } = this.access;
    return { name: target.name, address: target.address, spec: target.spec };
  }

  /** Takes over the connection's channel and forwarding requests. */
  serve(): Promise<void> {
    const { connection } = this;
    const limit = this.services.context.config.ssh.maxChannelsPerConnection;
    connection.on('session', (accept, reject) => {
      if (this.ended && !this.failure) return;
      if (this.channels.size >= limit) return this.channelRefused(reject, limit);
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
      grant: decision.grant ? { id: decision.grant.id, ticket: decision.grant.ticket } : null,
      approval: decision.grant
        ? { request: decision.grant.request, ticket: decision.grant.ticket, approvers: decision.grant.approvers, until: decision.grant.until.toISOString() }
        : null,
      node: this.services.context.config.nodeName,
      clientAddr: this.clientAddr,
      recordInput: decision.recordInput,
      pty,
    };
  }

  recordFileOperation(channelId: number, operation: ObservedFileOperation): boolean {
    return this.files.record({ sessionId: this.id, channelId, ...operation });
  }

  transferred(toClient: number, fromClient: number): void {
    this.live.transferred(toClient, fromClient);
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
    void this.evidence.setRecordingPath(this.id, path).catch((error: unknown) => this.logger.error('could not note the recording of a live session', { error }));
  }

  /**
   * A file transfer's protocol could not be followed: its operations may be missing (its
   * bytes are in its recording). Flagged in the session's stats and the audit log.
   */
  fileLogIncomplete(channelId: number, reason: string): void {
    this.fileLogsIncomplete[channelId] = reason;
    this.logger.warn('file operations could not be followed', { channel: channelId, reason });
    this.auditEvent('ssh.file-log.incomplete', { channelId, reason });
  }

  forwardingRefused(kind: 'agent' | 'x11' | 'remote'): void {
    this.auditEvent('ssh.forwarding.refused', { kind, login: this.access.login });
  }

  /** More session channels open at once than `ssh.maxChannelsPerConnection` (OpenSSH's MaxSessions). */
  private channelRefused(reject: () => void, limit: number): void {
    this.refusedChannels += 1;
    rejectChannelOpen(this.connection, reject, OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, messages.tooManyChannels(limit));
    // One event per connection: a client opening thousands must not flood the audit log.
    if (this.refusedChannels === 1) this.auditEvent('ssh.channel.refused', { reason: `more than ${limit} session channels open at once`, limit });
  }

  private auditEvent(type: string, data: Record<string, unknown>): void {
    void this.services.context.audit
      .record({ type, actor: this.access.identity.name, identity: this.access.identity.name, sessionId: this.id, target: this.access.target.name, data })
      .catch((error: unknown) => this.logger.error(`could not record ${type}`, { error }));
  }

  /**
   * Ends the session once: channels are told `message` (if any) and closed, recordings
   * finalized, forwards closed, the file log flushed, then the session closed with the
   * digests. A session that failed to start (`failure`) keeps its channels: each tells the
   * operator why as it is opened, and the connection closes after that (or after a grace).
   */
  end(reason: string, message?: string): Promise<void> {
    return (this.ending ??= (async () => {
      if (!this.failure) await Promise.allSettled([...this.channels].map((channel) => channel.terminate(message)));
      await this.forwards.closeAll();
      this.upstream?.end();
      const filesFailed = await this.files.flush().then(
        () => null,
        (error: unknown) => errorMessage(error),
      );
      await this.files.close();
      if (this.failure) setTimeout(() => this.connection.end(), REFUSAL_GRACE_MS).unref();
      else this.connection.end();
      if (this.counted) this.services.metrics.sessionsActive(-1);
      const recordings = [...this.digests].sort((a, b) => a.channelId - b.channelId);
      await this.live.close({
        reason: filesFailed ? `${reason}; file operations lost: ${filesFailed}` : reason,
        channelRecordings: recordings.map(({ channelId, digest }) => ({ channelId, ...digest })),
        stats: {
          channels: this.nextChannelId,
          recordings: recordings.length,
          fileOperations: this.files.count,
          portForwards: this.forwards.count,
          ...(Object.keys(this.fileLogsIncomplete).length ? { fileLogIncomplete: this.fileLogsIncomplete } : {}),
          bytesToClient: this.bytes.toClient,
          bytesFromClient: this.bytes.fromClient,
          ...(this.refusedChannels ? { refusedChannels: this.refusedChannels } : {}),
        },
      });
    })());
  }

  private async begin(): Promise<UpstreamConnection> {
    const { context } = this.services;
    const { identity, login, target } = this.access;
    try {
      await this.live.opened;
    } catch {
      this.failure = new ProxyError('audit_unavailable', messages.unavailable);
      void this.end('the session could not be opened');
      throw this.failure;
    }
    if (this.ended) throw new ProxyError('session_ended', 'the session ended');
    this.counted = true;
    this.services.metrics.sessionsActive(1);
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
      if (error instanceof ProxyError && error.code === 'session_ended') throw error;
      const detail = error instanceof ProxyError && error.code !== 'credentials_missing' ? error.message : 'the gateway could not connect (see the gateway log)';
      this.logger.warn('ssh upstream connection failed', { target: target.name, login, error: errorMessage(error) });
      this.failure = new ProxyError('upstream_failed', messages.upstreamFailed(target.name, detail), { cause: error });
      void this.end(`upstream connection failed: ${errorMessage(error)}`);
      throw this.failure;
    }
  }
}
