import { constants, createInflate, type Inflate } from 'node:zlib';
import { ProxyError } from '../errors.js';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';
import { FLAG_FIN, HEADERS, parseHeaderBlock, RST_STREAM, SpdyFrameReader, SYN_STREAM } from './spdy-frames.js';
import { WebSocketFrameReader } from './websocket-frames.js';

/** One forwarded TCP connection: kubectl's data stream to a pod port. */
export interface ForwardedConnection {
  streamId: number;
  requestId: string;
  port: number;
  bytesToPod: number;
  bytesFromPod: number;
}

export interface PortForwardEvents {
  /** A connection to a pod port is being opened; its first bytes wait until this resolves (evidence first). */
  opened(connection: ForwardedConnection): Promise<void>;
  closed(connection: ForwardedConnection): void;
}

interface StreamState {
  connection: ForwardedConnection;
  kind: 'data' | 'error' | 'unknown';
  ready: Promise<void>;
  clientDone: boolean;
  podDone: boolean;
  closed: boolean;
}

/**
 * Follows a port-forward tunnel as kubectl ≥ 1.31 speaks it — SPDY/3.1 carried in
 * WebSocket binary messages — without changing a byte: from the client's direction it reads
 * every stream opened (SYN_STREAM headers `streamtype`, `port`, `requestid`, decompressed with
 * the direction's one zlib context) and the bytes sent to each; from the cluster's direction
 * the bytes coming back. What each connection carried is counted, never kept.
 */
export class PortForwardObserver {
  private readonly streams = new Map<number, StreamState>();
  private readonly inflater: Inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private work: Promise<void> = Promise.resolve();
  private waiting = false;
  private readonly client: WebSocketFrameReader;
  private readonly upstream: WebSocketFrameReader;

  constructor(private readonly events: PortForwardEvents) {
    const clientSpdy = new SpdyFrameReader({
      control: (type, flags, payload) => this.clientControl(type, flags, payload),
      data: (streamId, flags, length) => this.dataFrame(streamId, flags, length, 'client'),
    });
    const upstreamSpdy = new SpdyFrameReader({
      control: (type, _flags, payload) => {
        if (type === RST_STREAM) this.reset(streamIdOf(payload));
      },
      data: (streamId, flags, length) => this.dataFrame(streamId, flags, length, 'pod'),
    });
    this.client = new WebSocketFrameReader(true, { data: (bytes) => clientSpdy.feed(bytes) });
    this.upstream = new WebSocketFrameReader(false, { data: (bytes) => upstreamSpdy.feed(bytes) });
  }

  /** Bytes from the client, before they are forwarded; a promise when they must wait for evidence. Throws on a broken tunnel. */
  fromClient(chunk: Buffer): Promise<void> | null {
    this.waiting = false;
    this.client.feed(chunk);
    return this.waiting ? this.work : null;
  }

  fromUpstream(chunk: Buffer): void {
    this.upstream.feed(chunk);
  }

  /** The connections still open when the tunnel ends. */
  open(): ForwardedConnection[] {
    return [...this.streams.values()].filter((state) => state.kind === 'data' && !state.closed).map((state) => state.connection);
  }

  close(): void {
    for (const state of this.streams.values()) this.finish(state);
    this.inflater.close();
  }

  private clientControl(type: number, flags: number, payload: Buffer): void {
    if (type === RST_STREAM) return this.reset(streamIdOf(payload));
    if (type !== SYN_STREAM && type !== HEADERS) return;
    if (payload.length < (type === SYN_STREAM ? 10 : 4)) throw new ProxyError('protocol_violation', 'spdy: a header frame is too short');
    const block = payload.subarray(type === SYN_STREAM ? 10 : 4);
    const headers = this.queue(() => this.inflate(block).then(parseHeaderBlock));
    if (type !== SYN_STREAM) return;
    const streamId = streamIdOf(payload);
    const connection: ForwardedConnection = { streamId, requestId: '', port: 0, bytesToPod: 0, bytesFromPod: 0 };
    const state: StreamState = { connection, kind: 'unknown', ready: Promise.resolve(), clientDone: (flags & FLAG_FIN) !== 0, podDone: false, closed: false };
    state.ready = this.queue(async () => {
      const named = await headers;
      connection.requestId = named.requestid ?? '';
      connection.port = Number(named.port ?? 0);
      state.kind = named.streamtype === 'data' ? 'data' : 'error';
      if (state.kind === 'data') await this.events.opened(connection);
    });
    this.streams.set(streamId, state);
  }

  private dataFrame(streamId: number, flags: number, length: number, from: 'client' | 'pod'): void {
    const state = this.streams.get(streamId);
    if (!state) return;
    if (from === 'client') state.connection.bytesToPod += length;
    else state.connection.bytesFromPod += length;
    if (flags & FLAG_FIN) {
      if (from === 'client') state.clientDone = true;
      else state.podDone = true;
      if (state.clientDone && state.podDone) this.finish(state);
    }
  }

  private reset(streamId: number): void {
    const state = this.streams.get(streamId);
    if (state) this.finish(state);
  }

  private finish(state: StreamState): void {
    if (state.closed) return;
    state.closed = true;
    this.streams.delete(state.connection.streamId);
    void state.ready.then(
      () => {
        if (state.kind === 'data') this.events.closed(state.connection);
      },
      () => undefined,
    );
  }

  /** Work on the client's direction runs in order; the bytes that caused it wait for it. */
  private queue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.work.then(job);
    // Whoever awaits the work sees a failure; nothing else is left unhandled.
    result.catch(() => undefined);
    this.work = result.then(() => undefined);
    this.work.catch(() => undefined);
    this.waiting = true;
    return result;
  }

  private inflate(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer) => chunks.push(chunk);
      const onError = (error: Error) => {
        this.inflater.off('data', onData);
        reject(new ProxyError('protocol_violation', `spdy: a header block does not decompress (${error.message})`));
      };
      this.inflater.on('data', onData);
      this.inflater.once('error', onError);
      this.inflater.write(block);
      this.inflater.flush(constants.Z_SYNC_FLUSH, () => {
        this.inflater.off('data', onData);
        this.inflater.off('error', onError);
        resolve(Buffer.concat(chunks));
      });
    });
  }
}

function streamIdOf(payload: Buffer): number {
  if (payload.length < 4) throw new ProxyError('protocol_violation', 'spdy: a control frame has no stream id');
  return payload.readUInt32BE(0) & 0x7fffffff;
}
