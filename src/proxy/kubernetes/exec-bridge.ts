import type { RawData, WebSocket } from 'ws';
import { ProxyError } from '../errors.js';
import {
  ERROR,
  parseChannelMessage,
  parseExitStatus,
  parseResize,
  RESIZE,
  STDERR,
  STDIN,
  STDOUT,
  type ChannelProtocol,
  type ExitStatus,
  type TerminalSize,
} from './channel-protocol.js';

/**
 * Where the evidence of one exec/attach goes (a recorder, in the gateway). Each call comes
 * before the bytes it describes are forwarded. A data call that returns false means the tap
 * is over its bound: the bridge stops reading that side until `tapDrained()`.
 */
export interface ExecTap {
  stdin(data: Buffer): boolean | void;
  stdout(data: Buffer): boolean | void;
  stderr(data: Buffer): boolean | void;
  resize(size: TerminalSize): void;
  /** v5: the client's stdin ended (kubectl sends this at EOF). */
  stdinClosed(): void;
  /** The error channel's Status, once the upstream has closed. */
  exit(status: ExitStatus): void;
}

export interface ExecBridgeEnd {
  /** Who ended the session: a side closing, or the bridge itself (violation, `close()`). */
  by: 'client' | 'upstream' | 'bridge';
  code: number;
  reason: string;
  /** The exit status, when the upstream reported one. */
  exit?: ExitStatus;
  /** Set when a side broke the channel protocol. */
  violation?: string;
}

export interface ExecBridgeOptions {
  client: WebSocket;
  upstream: WebSocket;
  /** The subprotocol both sides agreed on. */
  protocol: ChannelProtocol;
  tap: ExecTap;
  /** Bytes queued towards one side (or held by the tap) beyond which the other side is not read. Default 1 MiB. */
  highWaterBytes?: number;
}

export interface ExecBridge {
  /** Resolves once both sockets are closed. */
  done: Promise<ExecBridgeEnd>;
  /** The tap is below its bound again: resume reading the sides it paused. */
  tapDrained(): void;
  /** Ends the session from the gateway (TTL, kill): both sides close with `code` and `reason`. */
  close(code: number, reason: string): void;
}

const DEFAULT_HIGH_WATER = 1024 * 1024;
/** Channels a client may write; the rest flow from the upstream. */
const CLIENT_CHANNELS = new Set<number>([STDIN, RESIZE]);
const UPSTREAM_CHANNELS = new Set<number>([STDOUT, STDERR, ERROR]);
const MAX_ERROR_CHANNEL_BYTES = 64 * 1024;

/**
 * Relays one exec/attach session between the client's WebSocket and the upstream's, message
 * by message and unchanged, while telling the tap what passes: stdin, stdout, stderr,
 * resizes, the v5 stdin close and the exit status. It holds no policy and no store: what the
 * tap does with the evidence is the caller's business.
 */
export function bridgeExec(options: ExecBridgeOptions): ExecBridge {
  const { client, upstream, protocol, tap } = options;
  const highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
  const errorChannel: Buffer[] = [];
  let errorBytes = 0;
  let ended: ExecBridgeEnd | undefined;
  let closedSides = 0;
  let resolveDone!: (end: ExecBridgeEnd) => void;
  const done = new Promise<ExecBridgeEnd>((resolve) => (resolveDone = resolve));

  // Per direction: bytes sent but not yet written out, and whether the tap asked to wait.
  const towardUpstream = { queued: 0, tapFull: false, source: client };
  const towardClient = { queued: 0, tapFull: false, source: upstream };
  const updateFlow = (direction: typeof towardUpstream) => {
    if (direction.queued > highWater || direction.tapFull) direction.source.pause();
    else direction.source.resume();
  };
  const forward = (direction: typeof towardUpstream, target: WebSocket, message: Buffer) => {
    if (target.readyState !== target.OPEN) return;
    direction.queued += message.length;
    target.send(message, { binary: true }, () => {
      direction.queued -= message.length;
      updateFlow(direction);
    });
    updateFlow(direction);
  };

  const finish = (end: ExecBridgeEnd) => {
    ended ??= end;
  };

  const exitStatus = (): ExitStatus | undefined => {
    if (errorChannel.length === 0) return undefined;
    try {
      return parseExitStatus(Buffer.concat(errorChannel));
    } catch (err) {
      return { exitCode: undefined, message: (err as Error).message };
    }
  };

  const violate = (side: 'client' | 'upstream', err: unknown) => {
    const message = err instanceof ProxyError ? err.message : `kubernetes stream: ${(err as Error).message}`;
    finish({ by: 'bridge', code: 1008, reason: `${side} broke the stream protocol`, violation: message });
    closeBoth(1008, side === 'client' ? 'protocol violation' : 'upstream protocol violation');
  };

  client.on('message', (data: RawData, isBinary: boolean) => {
    if (ended?.violation) return;
    try {
      const message = toBuffer(data);
      if (!isBinary) throw new ProxyError('protocol_violation', 'kubernetes stream: text message where binary was expected');
      const parsed = parseChannelMessage(message, protocol);
      if (parsed.kind === 'close') {
        if (parsed.channel !== STDIN) throw new ProxyError('protocol_violation', `kubernetes stream: a client cannot close channel ${parsed.channel}`);
        tap.stdinClosed();
      } else if (!CLIENT_CHANNELS.has(parsed.channel)) {
        throw new ProxyError('protocol_violation', `kubernetes stream: a client cannot write channel ${parsed.channel}`);
      } else if (parsed.channel === RESIZE) {
        tap.resize(parseResize(parsed.data));
      } else if (parsed.data.length > 0 && tap.stdin(parsed.data) === false) {
        towardUpstream.tapFull = true;
        updateFlow(towardUpstream);
      }
      forward(towardUpstream, upstream, message);
    } catch (err) {
      violate('client', err);
    }
  });

  upstream.on('message', (data: RawData, isBinary: boolean) => {
    if (ended?.violation) return;
    try {
      const message = toBuffer(data);
      if (!isBinary) throw new ProxyError('protocol_violation', 'kubernetes stream: text message where binary was expected');
      const parsed = parseChannelMessage(message, protocol);
      if (parsed.kind === 'data') {
        if (!UPSTREAM_CHANNELS.has(parsed.channel)) throw new ProxyError('protocol_violation', `kubernetes stream: an upstream cannot write channel ${parsed.channel}`);
        let full = false;
        if (parsed.channel === STDOUT && parsed.data.length > 0) full = tap.stdout(parsed.data) === false;
        else if (parsed.channel === STDERR && parsed.data.length > 0) full = tap.stderr(parsed.data) === false;
        else if (parsed.channel === ERROR) {
          errorBytes += parsed.data.length;
          if (errorBytes > MAX_ERROR_CHANNEL_BYTES) throw new ProxyError('protocol_violation', 'kubernetes stream: the error channel holds more than a Status');
          errorChannel.push(Buffer.from(parsed.data));
        }
        if (full) {
          towardClient.tapFull = true;
          updateFlow(towardClient);
        }
      }
      forward(towardClient, client, message);
    } catch (err) {
      violate('upstream', err);
    }
  });

  const onClose = (side: 'client' | 'upstream', other: WebSocket) => (code: number, reason: Buffer) => {
    finish({ by: side, code, reason: reason.toString('utf8') });
    closeSide(other, code, reason.toString('utf8'));
    closedSides++;
    if (closedSides === 2) {
      const exit = exitStatus();
      if (exit) tap.exit(exit);
      resolveDone({ ...ended!, ...(exit ? { exit } : {}) });
    }
  };
  client.on('close', onClose('client', upstream));
  upstream.on('close', onClose('upstream', client));
  client.on('error', () => client.terminate());
  upstream.on('error', () => upstream.terminate());

  function closeBoth(code: number, reason: string): void {
    closeSide(client, code, reason);
    closeSide(upstream, code, reason);
  }

  return {
    done,
    tapDrained() {
      towardUpstream.tapFull = false;
      towardClient.tapFull = false;
      updateFlow(towardUpstream);
      updateFlow(towardClient);
    },
    close(code, reason) {
      finish({ by: 'bridge', code, reason });
      closeBoth(code, reason);
    },
  };
}

/** Closes with the peer's code where the protocol lets a code be sent again; otherwise a plain normal closure or a cut. */
function closeSide(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === socket.CLOSED || socket.readyState === socket.CLOSING) return;
  if (code === 1006) return void socket.terminate();
  const sendable = code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005) || (code >= 3000 && code <= 4999);
  socket.close(sendable ? code : 1000, Buffer.byteLength(reason) <= 123 ? reason : reason.slice(0, 60));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
