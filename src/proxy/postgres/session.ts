import type net from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { RecorderError } from '../../recorder/errors.js';
import type { QueryLog } from '../../recorder/query-log.js';
import { captureRefusal } from './capture/refusals.js';
import { ClientCapture } from './client-capture.js';
import { BackendScanner, UpstreamProtocolError } from './protocol/backend-scanner.js';
import { errorResponse, type ErrorFields } from './protocol/backend-serializer.js';
import { SqlState } from './protocol/codes.js';
import type { FrontendMessage } from './protocol/frontend-messages.js';
import { FrontendParser, FrontendProtocolError } from './protocol/frontend-parser.js';
import { TRACKED_BODIES, type StatementTracker } from './statement-tracker.js';
import type { UpstreamReads } from './upstream.js';

export interface BridgeOptions {
  sessionId: string;
  client: net.Socket;
  upstream: net.Socket;
  upstreamReads: UpstreamReads;
  tracker: StatementTracker;
  queryLog: QueryLog;
  maxMessageBytes: number;
  logger: Logger;
  /** Bytes passed each way (live progress). */
  onBytes: (toClient: number, fromClient: number) => void;
  /** Asks the upstream to cancel what is running (its own CancelRequest). */
  cancelUpstream: () => Promise<void>;
  onViolation: (code: string, reason: string) => void;
  /** Client bytes that arrived with the end of authentication. */
  pendingClientBytes: Buffer[];
  pendingUpstreamBytes: Buffer;
}

export interface BridgeOutcome {
  reason: string;
  /** True when the gateway ended the session (kill, TTL, revocation, violation, shutdown, query log failure). */
  terminatedByGateway: boolean;
  bytesFromClient: number;
  bytesFromUpstream: number;
}

export interface Termination extends Omit<ErrorFields, 'severity'> {
  /** Recorded as the session's end reason. */
  reason: string;
}

const PAUSE_UPSTREAM_FULL = 1;
const PAUSE_LOG_CONGESTED = 2;
const PAUSE_PIPELINE_FULL = 4;
const PAUSE_TERMINATING = 8;
const PAUSE_HELD = 16;

/** A client may have this many requests in flight before the gateway stops reading from it. */
const PIPELINE_HIGH = 20_000;
const PIPELINE_LOW = 10_000;
/** Upstream chunks up to this size are copied rather than retained (see forwardUpstream). */
const SMALL_WRITE_BYTES = 4096;
/** How long a termination waits for the upstream to reach a message boundary. */
const TERMINATION_GRACE_MS = 3000;

/**
 * The running half of a PostgreSQL session: bytes flow both ways as they arrive, while a
 * parser reads a view of them for capture. Client messages are captured before their bytes
 * are forwarded; nothing the gateway cannot parse is forwarded. Backpressure everywhere: a
 * full upstream, a congested query log or a deep pipeline stop reading from the client; a
 * slow client stops reading from the upstream. The gateway speaks to the client only at a
 * message boundary of the upstream's stream, so an ErrorResponse it adds never splits one.
 */
export class PostgresBridge {
  readonly done: Promise<BridgeOutcome>;
  private resolveDone!: (outcome: BridgeOutcome) => void;
  private readonly capture: ClientCapture;
  private readonly backend = new BackendScanner(TRACKED_BODIES);
  private paused = 0;
  private terminating: Termination | null = null;
  private endReason: string | null = null;
  private bytesFromClient = 0;
  private bytesFromUpstream = 0;
  private clientClosed = false;
  private upstreamClosed = false;
  private graceTimer: NodeJS.Timeout | null = null;
  private unsubscribe: Array<() => void> = [];
  private finished = false;
  private copySmallWrites = false;

  constructor(private readonly options: BridgeOptions) {
    this.capture = new ClientCapture(new FrontendParser({ maxMessageBytes: options.maxMessageBytes }), this.onClientMessage);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): void {
    const { client, upstream, queryLog } = this.options;
    client.on('data', this.onClientData);
    this.options.upstreamReads.handler = this.onUpstreamData;
    client.on('drain', this.onClientDrain);
    upstream.on('drain', this.onUpstreamDrain);
    client.on('error', (err) => this.clientGone(`client connection error: ${err.message}`));
    upstream.on('error', (err) => this.upstreamGone(`upstream connection error: ${err.message}`));
    client.on('close', () => this.clientGone('the client closed the connection'));
    upstream.on('close', () => this.upstreamGone('the server closed the connection'));
    client.on('end', () => client.end());
    upstream.on('end', () => upstream.end());

    this.unsubscribe.push(
      queryLog.onCongestion((congested) => this.setPaused(PAUSE_LOG_CONGESTED, congested)),
      queryLog.onFailure((error) =>
        this.terminate({
          code: '58000',
          message: 'the gateway cannot record statements right now, so the session is ended rather than left unrecorded',
          detail: error.message,
          reason: `query log failure: ${error.message}`,
        }),
      ),
    );
    if (queryLog.congested) this.setPaused(PAUSE_LOG_CONGESTED, true);

    // Either side may have gone while the session was being set up.
    if (client.destroyed) this.clientGone('the client closed the connection');
    if (upstream.destroyed) this.upstreamGone('the server closed the connection');
    if (this.finished) return;
    if (this.options.pendingUpstreamBytes.length > 0) this.onUpstreamData(this.options.pendingUpstreamBytes);
    for (const chunk of this.options.pendingClientBytes) this.onClientData(chunk);
    if (this.terminating) return;
    if (this.paused === 0) client.resume();
    upstream.resume();
  }

  /** Ends the session from the gateway's side with a FATAL ErrorResponse. */
  terminate(termination: Termination): void {
    if (this.terminating || this.finished) return;
    this.terminating = termination;
    this.endReason ??= termination.reason;
    this.setPaused(PAUSE_TERMINATING, true);
    this.options.client.off('data', this.onClientData);
    if (this.options.tracker.outstanding > 0) {
      void this.options.cancelUpstream().catch((err) => this.options.logger.debug('cancel on termination failed', { error: errorMessage(err) }));
    }
    this.graceTimer = setTimeout(() => this.destroyBoth(), TERMINATION_GRACE_MS);
    this.graceTimer.unref();
    if (this.backend.atBoundary || this.upstreamClosed) this.completeTermination();
  }

  // ------------------------------------------------------------------ client → upstream

  private readonly onClientData = (chunk: Buffer): void => {
    this.bytesFromClient += chunk.length;
    this.options.onBytes(0, chunk.length);
    this.forwardClient(() => this.capture.take(chunk));
  };

  /** Forwards the client bytes `take` releases (captured); a held message pauses the client until the server answers. */
  private forwardClient(take: () => Buffer[]): void {
    let ready: Buffer[];
    try {
      ready = take();
    } catch (err) {
      this.captureFailed(err);
      return;
    }
    if (this.terminating) return;
    for (const bytes of ready) if (!this.options.upstream.write(bytes)) this.setPaused(PAUSE_UPSTREAM_FULL, true);
    this.setPaused(PAUSE_HELD, this.capture.holding);
    if (this.options.tracker.outstanding > PIPELINE_HIGH) this.setPaused(PAUSE_PIPELINE_FULL, true);
  }

  private captureFailed(err: unknown): void {
    if (err instanceof FrontendProtocolError) {
      this.options.onViolation(err.code === 'too_large' ? 'message_too_large' : 'protocol_violation', err.message);
      this.terminate({ code: SqlState.protocolViolation, message: err.message, reason: `protocol violation: ${err.message}` });
      return;
    }
    const refusal = captureRefusal(err);
    if (refusal) {
      this.options.onViolation(refusal.violation, refusal.message);
      this.terminate({ code: refusal.sqlstate, message: refusal.message, hint: refusal.hint, reason: refusal.message });
      return;
    }
    if (err instanceof RecorderError) {
      this.terminate({
        code: '58000',
        message: 'the gateway cannot record this statement, so it was not run; the session is ended',
        detail: err.message,
        reason: `statement refused: ${err.message}`,
      });
      return;
    }
    this.internalError(err);
  }

  private readonly onClientMessage = (message: FrontendMessage): boolean => {
    const captured = this.options.tracker.onClientMessage(message);
    if (captured && message.name === 'terminate') this.endReason ??= 'the client ended the session';
    return captured;
  };

  /** A bug met by one session ends that session, never the gateway. */
  private internalError(err: unknown): void {
    this.options.logger.error('postgres session failed', { sessionId: this.options.sessionId, error: err });
    this.endReason ??= `internal error: ${err instanceof Error ? err.message : String(err)}`;
    if (this.terminating) this.destroyBoth();
    else this.terminate({ code: SqlState.internalError, message: 'internal error in the gateway; the session is ended', reason: this.endReason });
  }

  private readonly onUpstreamDrain = (): void => this.setPaused(PAUSE_UPSTREAM_FULL, false);

  // ------------------------------------------------------------------ upstream → client

  private readonly onUpstreamData = (chunk: Buffer): void => {
    this.bytesFromUpstream += chunk.length;
    this.options.onBytes(chunk.length, 0);
    const { tracker } = this.options;
    try {
      if (this.terminating) {
        const boundary = this.backend.scanToBoundary(chunk, this.onServerMessage);
        if (boundary > 0) this.forwardUpstream(chunk.subarray(0, boundary));
        if (this.backend.atBoundary) this.completeTermination();
        return;
      }
      this.backend.scan(chunk, this.onServerMessage);
    } catch (err) {
      if (err instanceof UpstreamProtocolError) {
        this.options.logger.error('postgres upstream broke the protocol', { sessionId: this.options.sessionId, error: err.message });
        this.endReason ??= err.message;
        this.destroyBoth();
        return;
      }
      this.internalError(err);
      return;
    }
    this.forwardUpstream(chunk);
    if (this.paused & PAUSE_PIPELINE_FULL && tracker.outstanding < PIPELINE_LOW) this.setPaused(PAUSE_PIPELINE_FULL, false);
    if (this.capture.holding) this.forwardClient(() => this.capture.retry());
  };

  private forwardUpstream(chunk: Buffer): void {
    const { client, upstream } = this.options;
    // Once the client's writes complete after the call returns (always over TLS), a small chunk
    // goes out as a pooled copy: a view into the reusable read buffer would have to keep it,
    // and every read would then allocate a fresh one (and the collector would pay for it).
    const bytes = this.copySmallWrites && chunk.length <= SMALL_WRITE_BYTES ? Buffer.from(chunk) : chunk;
    if (!client.write(bytes)) upstream.pause();
    if (client.writableLength > 0) {
      this.copySmallWrites = true;
      // Still queued in the stream: the read buffer must not be reused under it.
      if (bytes === chunk) this.options.upstreamReads.retain();
    }
  }

  private readonly onServerMessage = (type: number, body: Buffer | null, length: number): void => {
    this.options.tracker.onServerMessage(type, body, length);
  };

  private readonly onClientDrain = (): void => {
    if (!this.terminating) this.options.upstream.resume();
  };

  // ------------------------------------------------------------------ lifecycle

  private setPaused(flag: number, on: boolean): void {
    const before = this.paused;
    this.paused = on ? this.paused | flag : this.paused & ~flag;
    if (before === 0 && this.paused !== 0) this.options.client.pause();
    else if (before !== 0 && this.paused === 0 && !this.clientClosed) this.options.client.resume();
  }

  private completeTermination(): void {
    const termination = this.terminating!;
    const { client } = this.options;
    if (!this.clientClosed) {
      client.end(errorResponse({ severity: 'FATAL', code: termination.code, message: termination.message, detail: termination.detail, hint: termination.hint }));
    }
    this.closeUpstream();
  }

  private closeUpstream(): void {
    const { upstream } = this.options;
    if (this.upstreamClosed) return;
    this.options.upstreamReads.handler = () => undefined;
    if (this.capture.upstreamAtBoundary) upstream.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
    else upstream.destroy();
  }

  private destroyBoth(): void {
    this.options.client.destroy();
    this.options.upstream.destroy();
  }

  private clientGone(reason: string): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.endReason ??= reason;
    if (!this.upstreamClosed) this.closeUpstream();
    this.maybeFinish();
  }

  private upstreamGone(reason: string): void {
    if (this.upstreamClosed) return;
    this.upstreamClosed = true;
    this.endReason ??= reason;
    if (this.terminating && !this.clientClosed) this.completeTermination();
    else if (!this.clientClosed) this.options.client.end();
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (!this.clientClosed || !this.upstreamClosed || this.finished) return;
    this.finished = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.resolveDone({
      reason: this.endReason ?? 'the session ended',
      terminatedByGateway: this.terminating !== null,
      bytesFromClient: this.bytesFromClient,
      bytesFromUpstream: this.bytesFromUpstream,
    });
  }
}
