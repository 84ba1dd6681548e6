import { ProxyError } from '../errors.js';

/** SPDY/3.1 control frame types the port-forward observer reads. */
export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const HEADERS = 8;
export const FLAG_FIN = 0x01;

export interface SpdyFrameEvents {
  /** A whole control frame (type, flags, payload). */
  control(type: number, flags: number, payload: Buffer): void;
  /** A data frame's header: its stream, flags and payload length (the payload itself is skipped, not held). */
  data(streamId: number, flags: number, length: number): void;
}

/** Control frames carry headers and settings: anything this large is not a port-forward client's. */
const MAX_CONTROL_BYTES = 1024 * 1024;

/**
 * Reads the frames of one direction of a SPDY/3.1 byte stream (draft-mbelshe-httpbis-spdy-00
 * §2.2) as it is relayed: the 8-byte header, then a control frame's payload gathered whole,
 * a data frame's payload only counted. Throws ProxyError('protocol_violation') on bytes that
 * are not SPDY/3 frames.
 */
export class SpdyFrameReader {
  private header = Buffer.alloc(8);
  private headerBytes = 0;
  private control: { type: number; flags: number; payload: Buffer; filled: number } | null = null;
  private skipping = 0;

  constructor(private readonly events: SpdyFrameEvents) {}

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skipping > 0) {
        const take = Math.min(this.skipping, chunk.length - at);
        this.skipping -= take;
        at += take;
        continue;
      }
      if (this.control) {
        const control = this.control;
        const take = Math.min(control.payload.length - control.filled, chunk.length - at);
        chunk.copy(control.payload, control.filled, at, at + take);
        control.filled += take;
        at += take;
        if (control.filled === control.payload.length) {
          this.control = null;
          this.events.control(control.type, control.flags, control.payload);
        }
        continue;
      }
      this.header[this.headerBytes++] = chunk[at++]!;
      if (this.headerBytes === 8) this.startFrame();
    }
  }

  private startFrame(): void {
    this.headerBytes = 0;
    const flags = this.header[4]!;
    const length = this.header.readUIntBE(5, 3);
    if (this.header[0]! & 0x80) {
      const version = this.header.readUInt16BE(0) & 0x7fff;
      if (version !== 3) throw violation(`version ${version} (only SPDY/3.1 is spoken)`);
      if (length > MAX_CONTROL_BYTES) throw violation(`a control frame of ${length} bytes`);
      const type = this.header.readUInt16BE(2);
      if (length === 0) this.events.control(type, flags, Buffer.alloc(0));
      else this.control = { type, flags, payload: Buffer.allocUnsafe(length), filled: 0 };
      return;
    }
    this.events.data(this.header.readUInt32BE(0) & 0x7fffffff, flags, length);
    this.skipping = length;
  }
}

/**
 * The name/value header block of SYN_STREAM (and HEADERS) frames, decompressed: SPDY/3
 * compresses every header block of one direction with one zlib stream (and the SPDY
 * dictionary), so blocks must be fed to one inflater in order. Names are lower case; a value
 * holding several NUL-separated values keeps the first.
 */
export function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  const read32 = (offset: number) => {
    if (offset + 4 > block.length) throw violation('a header block ends early');
    return block.readUInt32BE(offset);
  };
  let offset = 4;
  const count = read32(0);
  for (let i = 0; i < count; i++) {
    const nameLength = read32(offset);
    offset += 4;
    if (offset + nameLength > block.length) throw violation('a header name runs past its block');
    const name = block.toString('utf8', offset, offset + nameLength);
    offset += nameLength;
    const valueLength = read32(offset);
    offset += 4;
    if (offset + valueLength > block.length) throw violation('a header value runs past its block');
    headers[name.toLowerCase()] = block.toString('utf8', offset, offset + valueLength).split('\0')[0]!;
    offset += valueLength;
  }
  return headers;
}

function violation(message: string): ProxyError {
  return new ProxyError('protocol_violation', `spdy: ${message}`);
}
