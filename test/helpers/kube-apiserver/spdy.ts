import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../src/proxy/kubernetes/spdy-dictionary.js';

/**
 * The server side of SPDY/3.1 as kubectl's port-forward speaks it (moby/spdystream),
 * tunnelled in WebSocket binary messages since kubectl 1.31. Enough of the protocol for
 * that client: SYN_STREAM → SYN_REPLY, DATA with FIN, RST_STREAM, PING echo, GOAWAY; no
 * flow control (spdystream ignores WINDOW_UPDATE). Header blocks are zlib-compressed with
 * the SPDY/3 dictionary, one compression context per direction for the whole connection.
 */
const VERSION = 3;
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 0x01;
const MAX_DATA_FRAME = 32 * 1024;

export interface SpdyStream extends EventEmitter {
  id: number;
  headers: Record<string, string>;
  /** Sends data to the client. */
  write(data: Buffer): void;
  /** Half-closes our side (DATA with FIN). */
  end(): void;
  reset(): void;
  on(event: 'data', listener: (data: Buffer) => void): this;
  /** The client half-closed its side. */
  on(event: 'end', listener: () => void): this;
  /** The client reset the stream. */
  on(event: 'reset', listener: () => void): this;
}

/** Emits 'stream' (SpdyStream), 'error' and 'close'. */
export class SpdyServerConnection extends EventEmitter {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly streams = new Map<number, SpdyStream & { remoteClosed: boolean; localClosed: boolean }>();
  /** Frames are handled one after another: header decompression is asynchronous. */
  private work: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly send: (bytes: Buffer) => void) {
    super();
  }

  feed(bytes: Buffer): void {
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUIntBE(5, 3);
      if (this.buffer.length < 8 + length) break;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.work = this.work.then(() => this.handleFrame(frame)).catch((err: Error) => void this.emit('error', err));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) stream.emit('reset');
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.emit('close');
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const control = (frame[0]! & 0x80) !== 0;
    const flags = frame[4]!;
    const payload = frame.subarray(8);
    if (!control) {
      const stream = this.streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      if (!stream) return;
      if (payload.length > 0) stream.emit('data', Buffer.from(payload));
      if (flags & FLAG_FIN) this.remoteFin(stream);
      return;
    }
    const version = frame.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`spdy: unsupported version ${version}`);
    switch (frame.readUInt16BE(2)) {
      case SYN_STREAM: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = parseHeaderBlock(await this.decompress(payload.subarray(10)));
        const stream = this.newStream(id, headers);
        this.streams.set(id, stream);
        this.send(controlFrame(SYN_REPLY, 0, Buffer.concat([uint32(id), await this.compress(headerBlock({}))])));
        this.emit('stream', stream);
        if (flags & FLAG_FIN) this.remoteFin(stream);
        return;
      }
      case RST_STREAM: {
        const stream = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
        if (!stream) return;
        this.streams.delete(stream.id);
        stream.emit('reset');
        return;
      }
      case PING:
        this.send(controlFrame(PING, 0, payload));
        return;
      case GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing this server needs from them.
        return;
    }
  }

  private newStream(id: number, headers: Record<string, string>) {
    const stream = Object.assign(new EventEmitter(), {
      id,
      headers,
      remoteClosed: false,
      localClosed: false,
      write: (data: Buffer) => {
        if (stream.localClosed || this.closed) return;
        for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) this.send(dataFrame(id, 0, data.subarray(offset, offset + MAX_DATA_FRAME)));
      },
      end: () => {
        if (stream.localClosed || this.closed) return;
        stream.localClosed = true;
        this.send(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
        if (stream.remoteClosed) this.streams.delete(id);
      },
      reset: () => {
        if (this.closed) return;
        this.streams.delete(id);
        this.send(controlFrame(RST_STREAM, 0, Buffer.concat([uint32(id), uint32(5 /* CANCEL */)])));
      },
    });
    return stream as SpdyStream & { remoteClosed: boolean; localClosed: boolean };
  }

  private remoteFin(stream: SpdyStream & { remoteClosed: boolean; localClosed: boolean }): void {
    stream.remoteClosed = true;
    stream.emit('end');
    if (stream.localClosed) this.streams.delete(stream.id);
  }

  private decompress(block: Buffer): Promise<Buffer> {
    return flushThrough(this.inflate, block);
  }

  private compress(block: Buffer): Promise<Buffer> {
    return flushThrough(this.deflate, block);
  }
}

/** Writes into a long-lived zlib stream and collects what one sync flush yields. */
function flushThrough(stream: zlib.Inflate | zlib.Deflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onError = (err: Error) => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(Buffer.concat(chunks));
    });
  });
}

function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let offset = 4;
  const count = block.readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block.toString('utf8', offset + 4, offset + 4 + nameLength);
    offset += 4 + nameLength;
    const valueLength = block.readUInt32BE(offset);
    const value = block.toString('utf8', offset + 4, offset + 4 + valueLength);
    offset += 4 + valueLength;
    headers[name.toLowerCase()] = value.split('\0')[0]!;
  }
  return headers;
}

function headerBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [uint32(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    for (const text of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(text, 'utf8');
      parts.push(uint32(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | VERSION, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

function dataFrame(streamId: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0, 0);
  return buffer;
}
