import { ProxyError } from '../errors.js';

/** What a WebSocket byte stream carries, read as it is relayed (RFC 6455 §5.2). */
export interface WebSocketFrameEvents {
  /** Payload bytes of a data frame (text, binary or continuation), unmasked, in order; a frame may come in pieces. */
  data(payload: Buffer): void;
  /** A close frame was read: nothing after it belongs to the connection. */
  close?(): void;
}

const OPCODE_CLOSE = 0x8;
/** Frames larger than this are not a port-forward tunnel's: refused rather than trusted. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Reads the frames of one direction of a WebSocket connection without holding them: the
 * header is gathered (at most 14 bytes), the payload is unmasked and handed on piece by
 * piece as it arrives. `masked` says whether this direction must mask (client to server)
 * or must not (server to client). Throws ProxyError('protocol_violation') on bytes that are
 * not WebSocket frames.
 */
export class WebSocketFrameReader {
  private header = Buffer.alloc(14);
  private headerBytes = 0;
  private remaining = 0;
  private inPayload = false;
  private control = false;
  private opcode = 0;
  private mask: Buffer | null = null;
  private maskOffset = 0;
  private closed = false;

  constructor(
    private readonly masked: boolean,
    private readonly events: WebSocketFrameEvents,
  ) {}

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.closed) {
      if (!this.inPayload) {
        at = this.readHeader(chunk, at);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      if (!this.control && take > 0) this.events.data(this.unmask(piece));
      if (this.remaining === 0) this.endFrame();
    }
  }

  private readHeader(chunk: Buffer, at: number): number {
    while (at < chunk.length) {
      this.header[this.headerBytes++] = chunk[at++]!;
      const needed = this.headerLength();
      if (needed === null || this.headerBytes < needed) continue;
      this.startFrame();
      return at;
    }
    return at;
  }

  /** How long the header is, once its first two bytes say so. */
  private headerLength(): number | null {
    if (this.headerBytes < 2) return null;
    const second = this.header[1]!;
    const length7 = second & 0x7f;
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    return 2 + extended + (second & 0x80 ? 4 : 0);
  }

  private startFrame(): void {
    const first = this.header[0]!;
    const second = this.header[1]!;
    if (first & 0x70) throw violation('a frame uses reserved bits (no extension was agreed)');
    const isMasked = (second & 0x80) !== 0;
    if (isMasked !== this.masked) throw violation(this.masked ? 'a client frame is not masked' : 'a server frame is masked');
    this.opcode = first & 0x0f;
    this.control = (this.opcode & 0x8) !== 0;
    const length7 = second & 0x7f;
    let length: number;
    let offset = 2;
    if (length7 === 126) {
      length = this.header.readUInt16BE(2);
      offset = 4;
    } else if (length7 === 127) {
      const big = this.header.readBigUInt64BE(2);
      if (big > BigInt(MAX_FRAME_BYTES)) throw violation(`a frame of ${big} bytes is larger than a tunnel frame may be`);
      length = Number(big);
      offset = 10;
    } else {
      length = length7;
    }
    if (length > MAX_FRAME_BYTES) throw violation(`a frame of ${length} bytes is larger than a tunnel frame may be`);
    if (this.control && length > 125) throw violation('a control frame is longer than 125 bytes');
    this.mask = isMasked ? Buffer.from(this.header.subarray(offset, offset + 4)) : null;
    this.maskOffset = 0;
    this.remaining = length;
    this.headerBytes = 0;
    this.inPayload = true;
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    this.inPayload = false;
    if (this.opcode === OPCODE_CLOSE) {
      this.closed = true;
      this.events.close?.();
    }
  }

  private unmask(piece: Buffer): Buffer {
    if (!this.mask) return piece;
    const out = Buffer.allocUnsafe(piece.length);
    for (let i = 0; i < piece.length; i++) out[i] = piece[i]! ^ this.mask[(this.maskOffset + i) & 3]!;
    this.maskOffset = (this.maskOffset + piece.length) & 3;
    return out;
  }
}

function violation(message: string): ProxyError {
  return new ProxyError('protocol_violation', `websocket: ${message}`);
}
