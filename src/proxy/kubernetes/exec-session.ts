import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, type WebSocketServer } from 'ws';
import { errorMessage } from '../../core/errors.js';
import type { KubeRequestEntry } from '../../recorder/kube-request-log.js';
import type { ChannelExit, RecordingDigest, SessionRecorder } from '../../recorder/session-recorder.js';
import { endings } from '../lifecycle/ending.js';
import type { LiveSession } from '../lifecycle/live-session.js';
import type { Admitted } from './admission.js';
import type { ApiSession } from './api-session.js';
import { ERROR, isChannelProtocol, serializeChannelData, STDERR, STDOUT, type ChannelProtocol, type ExitStatus } from './channel-protocol.js';
import { bridgeExec, type ExecBridge, type ExecBridgeEnd } from './exec-bridge.js';
import { openStreamRecording, openTerminalRecording, recordingFileName } from './exec-recording.js';
import { upstreamHeaders } from './impersonation.js';
import type { KubeServices } from './kube-services.js';
import { endingStatus, rejectUpgrade, statusJson, type KubeStatus } from './status.js';
import { relayRefusal } from './upstream-refusal.js';

/** What the listener's WebSocket server needs to answer a client with the protocol the cluster chose. */
export interface ExecUpgrade {
  wss: WebSocketServer;
  /** The subprotocol to answer each upgrade request with (set once the cluster agreed to one). */
  agreed: WeakMap<IncomingMessage, string>;
}

const CHANNEL_ID = 0;

/**
 * One `kubectl exec` or `kubectl attach`: a session of its own (protocol `kubernetes`, its
 * own row, decision, deadline, kill and revocation), its request row, and its recording —
 * asciicast with a tty (resizes, stdin close and exit status as events), the non-tty stream
 * format otherwise. The client's WebSocket is answered once the cluster's is open, with the
 * subprotocol the cluster chose; then the exec bridge relays it message by message, the
 * recording taking each chunk before it is forwarded.
 */
export class ExecSession {
  private live!: LiveSession;
  private entry: KubeRequestEntry | null = null;
  private recorder: SessionRecorder | null = null;
  private upstreamSocket: WebSocket | null = null;
  private client: WebSocket | null = null;
  private bridge: ExecBridge | null = null;
  private readonly bytes = { toClient: 0, fromClient: 0 };
  private exit: ExitStatus | null = null;
  private finished = false;
  private readonly tty: boolean;
  private readonly subresource: 'exec' | 'attach';
  private readonly command: string[];
  private readonly container: string | null;
  private readonly offered: ChannelProtocol[];

  constructor(
    private readonly services: KubeServices,
    private readonly api: ApiSession,
    private readonly admitted: Admitted,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly rest: string,
    private readonly upgrade: ExecUpgrade,
  ) {
    const { query, info } = admitted;
    this.tty = /^(true|1)$/i.test(query.get('tty') ?? '');
    this.subresource = info.subresource === 'attach' ? 'attach' : 'exec';
    this.command = this.subresource === 'exec' ? query.getAll('command') : [];
    this.container = query.get('container');
    this.offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((value) => value.trim())
      .filter(isChannelProtocol);
  }

  async start(): Promise<void> {
    const { context } = this.services;
    const { info, decision, as } = this.admitted;
    if (this.offered.length === 0) {
      return this.refuseBeforeSession(400, 'BadRequest', `custos: ${this.subresource} is relayed over WebSocket ${['v5.channel.k8s.io', 'v4.channel.k8s.io'].join(' or ')} (kubectl ≥ 1.30 speaks them); offered: ${String(this.req.headers['sec-websocket-protocol'] ?? 'none')}`);
    }
    const id = context.lifecycle.newSessionId();
    try {
      await this.recordDecision(id);
    } catch (error) {
      return this.refuseBeforeSession(503, 'ServiceUnavailable', `custos: the gateway cannot record access decisions right now, so this ${this.subresource} is refused (${errorMessage(error)})`);
    }
    this.live = context.lifecycle.open({
      id,
      protocol: 'kubernetes',
      identity: this.api.identity,
      credential: this.api.credential,
      target: { name: this.api.target.name, address: this.api.target.address },
      action: this.admitted.action,
      decision,
      login: as.user,
      clientAddr: this.api.clientAddr,
      details: {
        kind: this.subresource,
        cluster: this.api.upstream.server,
        namespace: info.namespace,
        pod: info.name,
        container: this.container,
        command: this.command,
        tty: this.tty,
        kubeGroups: as.groups,
        apiSession: this.api.id,
      },
    });
    this.live.progress = () => ({ bytesToClient: this.bytes.toClient, bytesFromClient: this.bytes.fromClient });
    this.live.handle({ terminate: (ending) => this.terminate(endingStatus(ending)), warn: (message) => this.notice(`custos: ${message}`) });
    this.socket.once('close', () => {
      if (!this.client) void this.finish(null, 'the client went away before the stream opened');
    });
    try {
      await this.live.opened;
      await this.openEvidence();
    } catch (error) {
      const status: KubeStatus = { code: 503, reason: 'ServiceUnavailable', message: `custos: the gateway cannot record this ${this.subresource} right now, so it is refused (${errorMessage(error)})` };
      rejectUpgrade(this.socket, status);
      return this.finish(503, `evidence could not be written: ${errorMessage(error)}`);
    }
    if (this.live.termination) return this.refuseEnded();
    this.connectUpstream();
  }

  /** The exec is a session of its own: its access decision is an audit event like every session's. */
  private async recordDecision(sessionId: string): Promise<void> {
    const { decision, as, action } = this.admitted;
    const identity = this.api.identity;
    await this.services.context.audit.record({
      type: 'access.allow',
      actor: identity.name,
      identity: identity.name,
      sessionId,
      target: this.api.target.name,
      data: {
        protocol: 'kubernetes',
        action,
        identityKind: identity.kind,
        owner: identity.owner,
        credential: this.api.credential.id,
        clientAddr: this.api.clientAddr,
        reason: decision.reason,
        roles: decision.roles,
        kubeUser: as.user,
        kubeGroups: as.groups,
        grant: decision.grant ?? null,
        expiresAt: decision.expiresAt?.toISOString() ?? null,
        apiSession: this.api.id,
      },
    });
  }

  private async openEvidence(): Promise<void> {
    const { context, writer } = this.services;
    const { info, as, decision } = this.admitted;
    const sessionId = this.live.id;
    this.entry = this.services.requests.begin({
      ...this.admitted.row,
      sessionId,
      seq: 1,
      details: { container: this.container, command: this.command, tty: this.tty, stdin: /^(true|1)$/i.test(this.admitted.query.get('stdin') ?? ''), apiSession: this.api.id },
    });
    const path = join(context.config.recordings.dir, this.live.startedAt.toISOString().slice(0, 10), recordingFileName(sessionId, CHANNEL_ID, this.tty));
    const identity = this.api.identity;
    const open = this.tty ? openTerminalRecording : openStreamRecording;
    this.recorder = await open(writer, {
      path,
      title: `${as.user}@${this.api.target.name} ${info.namespace}/${info.name}${this.container ? `/${this.container}` : ''} (${identity.name}, session ${sessionId})`,
      command: this.command.length > 0 ? commandLine(this.command) : null,
      recordInput: decision.recordInput,
      onFailure: (error) => {
        this.services.metrics.recordingFailures();
        this.live.terminate(endings.failed(`recording failed: ${error.message}`, 'the session cannot be recorded, so it is ended'));
      },
      tags: {
        sessionId,
        channelId: CHANNEL_ID,
        channelKind: this.subresource,
        protocol: 'kubernetes',
        identity: { name: identity.name, kind: identity.kind, owner: identity.owner },
        credential: this.api.credential.id,
        target: this.api.target.name,
        login: as.user,
        grant: decision.grant ?? null,
        node: context.config.nodeName,
        clientAddr: this.api.clientAddr,
        recordInput: decision.recordInput,
        pty: this.tty,
        kubernetes: {
          cluster: this.api.upstream.server,
          namespace: info.namespace,
          pod: info.name,
          container: this.container,
          command: this.command,
          subresource: this.subresource,
        },
      },
    });
    await context.evidence.sessions.addChannel({
      sessionId,
      channelId: CHANNEL_ID,
      kind: this.subresource,
      command: this.command.length > 0 ? commandLine(this.command) : null,
      pty: this.tty ? { term: 'xterm', cols: 80, rows: 24 } : null,
      startedAt: new Date(),
      endedAt: null,
      exitCode: null,
      exitSignal: null,
      recordingPath: path,
      recordingBytes: null,
      recordingSha256: null,
    });
    await context.evidence.sessions.setRecordingPath(sessionId, path);
  }

  private connectUpstream(): void {
    const { upstream } = this.api;
    const url = `wss://${upstream.hostname.includes(':') ? `[${upstream.hostname}]` : upstream.hostname}:${upstream.port}${upstream.basePath}${this.rest}`;
    const headers = upstreamHeaders(this.req.headers, upstream, this.admitted.as);
    delete headers.host;
    const socket = new WebSocket(url, this.offered, {
      ...upstream.tls,
      headers: headers as Record<string, string>,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    this.upstreamSocket = socket;
    socket.on('unexpected-response', (_request, response) => {
      relayRefusal(response, this.socket, (code, message) => void this.finish(code, `the cluster refused the ${this.subresource}: ${code}${message ? ` ${message}` : ''}`));
    });
    socket.on('error', (error) => {
      if (this.client) return;
      const status: KubeStatus = { code: 503, reason: 'ServiceUnavailable', message: `custos: the gateway cannot reach the API server of target ${this.api.target.name}: ${errorMessage(error)}` };
      rejectUpgrade(this.socket, status);
      void this.finish(503, `upstream: ${errorMessage(error)}`);
    });
    socket.on('open', () => {
      if (this.finished || this.socket.destroyed) return socket.terminate();
      if (this.live.termination) {
        socket.terminate();
        return this.refuseEnded();
      }
      this.upgrade.agreed.set(this.req, socket.protocol);
      this.upgrade.wss.handleUpgrade(this.req, this.socket, this.head, (client) => this.relay(client, socket));
    });
  }

  private relay(client: WebSocket, upstream: WebSocket): void {
    this.client = client;
    const protocol = upstream.protocol as ChannelProtocol;
    const recorder = this.recorder!;
    const count = (toClient: number, fromClient: number) => {
      this.bytes.toClient += toClient;
      this.bytes.fromClient += fromClient;
      this.live.transferred(toClient, fromClient);
    };
    const room = (hasRoom: boolean) => {
      if (!hasRoom) void recorder.whenWritable().then(() => this.bridge?.tapDrained());
      return hasRoom;
    };
    this.bridge = bridgeExec({
      client,
      upstream,
      protocol,
      tap: {
        stdin: (data) => (count(0, data.length), room(recorder.input(data))),
        stdout: (data) => (count(data.length, 0), room(recorder.output(data, 'stdout'))),
        stderr: (data) => (count(data.length, 0), room(recorder.output(data, 'stderr'))),
        resize: (size) => recorder.resize(size.cols, size.rows),
        stdinClosed: () => recorder.marker('stdin closed'),
        exit: (status) => (this.exit = status),
      },
    });
    void this.bridge.done.then((end) => this.finish(101, endReason(end)));
  }

  /**
   * A line from the gateway on the operator's terminal (recorded as output, as SSH does):
   * on stdout with a tty (kubectl opens no stderr stream then), on stderr otherwise.
   */
  private notice(text: string): void {
    const client = this.client;
    if (!client || client.readyState !== client.OPEN) return;
    const channel = this.tty ? STDOUT : STDERR;
    if (!this.tty && !/^(true|1)$/i.test(this.admitted.query.get('stderr') ?? '')) return;
    const line = Buffer.from(this.tty ? `\r\n${text}\r\n` : `${text}\n`);
    this.recorder?.output(line, this.tty ? 'stdout' : 'stderr');
    client.send(serializeChannelData(channel, line));
  }

  /** The gateway ends the stream: the operator reads why, kubectl gets the Status on the error channel. */
  private terminate(status: KubeStatus): void {
    if (!this.client || !this.bridge) {
      // Still setting up: start() and the upstream handshake check the termination and refuse.
      if (this.upstreamSocket && this.upstreamSocket.readyState === this.upstreamSocket.CONNECTING) {
        this.upstreamSocket.terminate();
        this.refuseEnded();
      }
      return;
    }
    this.notice(status.message);
    if (this.client.readyState === this.client.OPEN) this.client.send(serializeChannelData(ERROR, statusJson(status)));
    this.bridge.close(1000, 'the session was ended by the gateway');
  }

  private refuseEnded(): void {
    const ending = this.live.termination!;
    const status = endingStatus(ending);
    rejectUpgrade(this.socket, status);
    void this.finish(status.code, ending.reason);
  }

  private refuseBeforeSession(code: number, reason: string, message: string): void {
    try {
      this.services.requests.begin(this.admitted.row).end({ code, requestBytes: 0, responseBytes: 0, reason: message });
    } catch {
      // the request log is failing; the refusal goes out either way
    }
    rejectUpgrade(this.socket, { code, reason, message });
  }

  /** Once: recording finalized, channel row and request row completed, session closed with the digest. */
  private async finish(code: number | null, reason: string): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.upstreamSocket?.terminate();
    const exit: ChannelExit | null = this.exit ? { code: this.exit.exitCode ?? null, signal: null } : null;
    let digest: RecordingDigest | null = null;
    if (this.recorder) {
      digest = await this.recorder.close(exit).catch((error: unknown) => {
        this.live.logger.error('could not finalize a recording', { error: errorMessage(error) });
        return null;
      });
      await this.services.context.evidence.sessions
        .updateChannel(this.live.id, CHANNEL_ID, {
          endedAt: new Date(),
          exitCode: exit?.code ?? null,
          ...(digest ? { recordingBytes: digest.bytes, recordingSha256: digest.sha256 } : {}),
        })
        .catch((error: unknown) => this.live.logger.error('could not close a channel row', { error: errorMessage(error) }));
    }
    this.services.metrics.requests(code);
    this.entry?.end({
      code,
      requestBytes: this.bytes.fromClient,
      responseBytes: this.bytes.toClient,
      reason,
      details: this.exit ? { exitCode: this.exit.exitCode ?? null, ...(this.exit.message && this.exit.exitCode === undefined ? { error: this.exit.message } : {}) } : null,
    });
    await this.live.close({
      reason,
      channelRecordings: digest ? [{ channelId: CHANNEL_ID, ...digest }] : [],
      stats: { exitCode: this.exit?.exitCode ?? null, bytesToClient: this.bytes.toClient, bytesFromClient: this.bytes.fromClient },
    });
  }
}

function endReason(end: ExecBridgeEnd): string {
  if (end.violation) return `protocol violation: ${end.violation}`;
  if (end.exit?.exitCode !== undefined) return `the command exited with status ${end.exit.exitCode}`;
  if (end.exit?.message) return `the cluster ended the stream: ${end.exit.message}`;
  if (end.by === 'client') return 'the client closed the stream';
  if (end.by === 'upstream') return 'the cluster closed the stream';
  return end.reason || 'the stream ended';
}

/** The command as one line, each argument quoted when it needs to be. */
function commandLine(command: string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}
