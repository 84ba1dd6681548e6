import { ProxyError } from '../errors.js';

/**
 * The Kubernetes WebSocket stream protocol of exec and attach (`v4.channel.k8s.io`,
 * `v5.channel.k8s.io`): every binary message carries one channel's bytes, prefixed by the
 * channel number. v4 carries the exit status on the error channel as a metav1.Status JSON;
 * v5 adds channel 255, whose one-byte payload names a channel the sender will not write
 * to again (kubectl sends [255, 0] when its stdin ends). Older protocols (channel.k8s.io,
 * v2, v3, base64.*) carry the error as plain text and are not spoken here.
 */
export const CHANNEL_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const CHANNEL_PROTOCOL_V4 = 'v4.channel.k8s.io';
export type ChannelProtocol = typeof CHANNEL_PROTOCOL_V5 | typeof CHANNEL_PROTOCOL_V4;
/** In the order a server prefers them. */
export const CHANNEL_PROTOCOLS: readonly ChannelProtocol[] = [CHANNEL_PROTOCOL_V5, CHANNEL_PROTOCOL_V4];

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export type StreamChannel = typeof STDIN | typeof STDOUT | typeof STDERR | typeof ERROR | typeof RESIZE;

export type ChannelMessage =
  | { kind: 'data'; channel: StreamChannel; data: Buffer }
  /** v5: the sender will write no more to `channel`. */
  | { kind: 'close'; channel: StreamChannel };

/** The protocol a server answers with, from the client's Sec-WebSocket-Protocol offers. */
export function negotiateChannelProtocol(offered: Iterable<string>): ChannelProtocol | undefined {
  const set = new Set([...offered].map((value) => value.trim()));
  return CHANNEL_PROTOCOLS.find((protocol) => set.has(protocol));
}

export function isChannelProtocol(value: string): value is ChannelProtocol {
  return (CHANNEL_PROTOCOLS as readonly string[]).includes(value);
}

/** One WebSocket message of the channel protocol. Throws ProxyError('protocol_violation') on one that is not. */
export function parseChannelMessage(message: Buffer, protocol: ChannelProtocol): ChannelMessage {
  if (message.length === 0) throw violation('an empty message has no channel');
  const channel = message[0]!;
  if (channel === CLOSE) {
    if (protocol !== CHANNEL_PROTOCOL_V5) throw violation(`channel 255 (close) is not part of ${protocol}`);
    if (message.length !== 2) throw violation(`a close message carries exactly one channel number, got ${message.length - 1} bytes`);
    const closed = message[1]!;
    if (!isStreamChannel(closed)) throw violation(`close of unknown channel ${closed}`);
    return { kind: 'close', channel: closed };
  }
  if (!isStreamChannel(channel)) throw violation(`unknown channel ${channel}`);
  return { kind: 'data', channel, data: message.subarray(1) };
}

export function serializeChannelData(channel: StreamChannel, data: Uint8Array | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const message = Buffer.allocUnsafe(payload.length + 1);
  message[0] = channel;
  message.set(payload, 1);
  return message;
}

export function serializeChannelClose(channel: StreamChannel): Buffer {
  return Buffer.from([CLOSE, channel]);
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The resize channel's payload: client-go's TerminalSize as JSON, `{"Width":80,"Height":24}`. */
export function parseResize(data: Buffer): TerminalSize {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    throw violation('a resize message is not JSON');
  }
  const { Width: cols, Height: rows } = (value ?? {}) as { Width?: unknown; Height?: unknown };
  if (!isUint16(cols) || !isUint16(rows)) throw violation('a resize message needs Width and Height between 0 and 65535');
  return { cols, rows };
}

export function serializeResize(size: TerminalSize): Buffer {
  return serializeChannelData(RESIZE, JSON.stringify({ Width: size.cols, Height: size.rows }));
}

export interface ExitStatus {
  /** The command's exit code; undefined when the stream ended in a failure that is not an exit (no such container, …). */
  exitCode: number | undefined;
  /** The Status message for failures (what kubectl prints). */
  message?: string;
  reason?: string;
}

/**
 * The error channel's content at the end of an exec: a metav1.Status. Success is exit 0;
 * `Failure` with reason `NonZeroExitCode` names the code in its `ExitCode` cause.
 */
export function parseExitStatus(data: Buffer): ExitStatus {
  let status: unknown;
  try {
    status = JSON.parse(data.toString('utf8'));
  } catch {
    throw violation('the error channel does not hold a Status object');
  }
  const { status: outcome, message, reason, details } = (status ?? {}) as {
    status?: unknown;
    message?: unknown;
    reason?: unknown;
    details?: { causes?: Array<{ reason?: unknown; message?: unknown }> };
  };
  if (outcome === 'Success') return { exitCode: 0 };
  if (outcome !== 'Failure') throw violation('the error channel Status is neither Success nor Failure');
  const text = typeof message === 'string' ? message : undefined;
  const why = typeof reason === 'string' ? reason : undefined;
  if (why === 'NonZeroExitCode') {
    const cause = details?.causes?.find((entry) => entry.reason === 'ExitCode');
    const code = typeof cause?.message === 'string' && /^\d+$/.test(cause.message) ? Number(cause.message) : undefined;
    return { exitCode: code, message: text, reason: why };
  }
  return { exitCode: undefined, message: text, reason: why };
}

/** The Status a server writes on the error channel when the command exits with `exitCode`. */
export function exitStatusJson(exitCode: number, command: readonly string[] = []): string {
  if (exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  });
}

function isStreamChannel(value: number): value is StreamChannel {
  return value >= STDIN && value <= RESIZE;
}

function isUint16(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

function violation(message: string): ProxyError {
  return new ProxyError('protocol_violation', `kubernetes stream: ${message}`);
}
