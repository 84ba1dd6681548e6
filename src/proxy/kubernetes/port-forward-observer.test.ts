import { randomBytes } from 'node:crypto';
import { constants, createDeflate } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { PortForwardObserver, type ForwardedConnection } from './port-forward-observer.js';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';
import { FLAG_FIN, RST_STREAM, SpdyFrameReader, SYN_STREAM } from './spdy-frames.js';
import { WebSocketFrameReader } from './websocket-frames.js';

/** A WebSocket frame as a client (masked) or a server (unmasked) writes it. */
function wsFrame(payload: Buffer, options: { masked: boolean; opcode?: number; fin?: boolean }): Buffer {
  const { masked, opcode = 2, fin = true } = options;
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0, length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (length >= 126 && length < 65536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else if (length >= 65536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  return Buffer.concat([head, mask, body]);
}

/** SPDY/3 frames as kubectl's port-forward writes them. */
class SpdyWriter {
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });

  async synStream(id: number, headers: Record<string, string>, flags = 0): Promise<Buffer> {
    const block = await this.compress(headerBlock(headers));
    const payload = Buffer.alloc(10);
    payload.writeUInt32BE(id, 0);
    return control(SYN_STREAM, flags, Buffer.concat([payload, block]));
  }

  private compress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer) => chunks.push(chunk);
      this.deflate.on('data', onData);
      this.deflate.write(block);
      this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.deflate.off('data', onData);
        resolve(Buffer.concat(chunks));
      });
    });
  }
}

function headerBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) for (const text of [name, value]) parts.push(u32(Buffer.byteLength(text)), Buffer.from(text));
  return Buffer.concat(parts);
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8003, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(payload.length, 4);
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

function data(id: number, payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(id, 0);
  head.writeUInt32BE(payload.length, 4);
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value, 0);
  return buffer;
}

/** Feeds `bytes` to `feed` in pieces of `size` (1 splits at every byte). */
function inPieces(bytes: Buffer, size: number, feed: (piece: Buffer) => void): void {
  for (let at = 0; at < bytes.length; at += size) feed(bytes.subarray(at, at + size));
}

describe('WebSocketFrameReader', () => {
  const message = randomBytes(70_000);
  const stream = Buffer.concat([
    wsFrame(Buffer.from('ping'), { masked: true, opcode: 0x9 }),
    wsFrame(message.subarray(0, 100), { masked: true, fin: false }),
    wsFrame(message.subarray(100), { masked: true, opcode: 0 }),
    wsFrame(Buffer.alloc(0), { masked: true }),
  ]);

  it.each([1, 2, 3, 7, 125, 4096, stream.length])('hands on the payload of data frames, unmasked, split every %i bytes', (size) => {
    const got: Buffer[] = [];
    const reader = new WebSocketFrameReader(true, { data: (payload) => got.push(payload) });
    inPieces(stream, size, (piece) => reader.feed(piece));
    expect(Buffer.concat(got).equals(message)).toBe(true);
  });

  it('refuses what a peer must not send', () => {
    const read = (masked: boolean, bytes: Buffer) => () => new WebSocketFrameReader(masked, { data: () => undefined }).feed(bytes);
    expect(read(true, wsFrame(Buffer.from('x'), { masked: false }))).toThrow(ProxyError);
    expect(read(false, wsFrame(Buffer.from('x'), { masked: true }))).toThrow(/server frame is masked/);
    const reserved = wsFrame(Buffer.from('x'), { masked: true });
    reserved[0]! |= 0x40;
    expect(read(true, reserved)).toThrow(/reserved bits/);
    expect(read(true, wsFrame(Buffer.alloc(126), { masked: true, opcode: 0x9 }))).toThrow(/control frame/);
  });

  it('stops at a close frame', () => {
    const got: Buffer[] = [];
    let closed = false;
    const reader = new WebSocketFrameReader(false, { data: (payload) => got.push(payload), close: () => (closed = true) });
    reader.feed(Buffer.concat([wsFrame(Buffer.from('a'), { masked: false }), wsFrame(Buffer.from([3, 232]), { masked: false, opcode: 0x8 }), Buffer.from('garbage after close')]));
    expect(closed).toBe(true);
    expect(Buffer.concat(got).toString()).toBe('a');
  });
});

describe('SpdyFrameReader', () => {
  it.each([1, 5, 8, 9, 1000])('reads control frames whole and data frame headers, split every %i bytes', async (size) => {
    const writer = new SpdyWriter();
    const bytes = Buffer.concat([await writer.synStream(1, { streamtype: 'data', port: '80', requestid: '0' }), data(1, randomBytes(3000)), data(1, Buffer.alloc(0), FLAG_FIN), control(RST_STREAM, 0, Buffer.concat([u32(1), u32(5)]))]);
    const seen: string[] = [];
    const reader = new SpdyFrameReader({ control: (type, flags, payload) => seen.push(`control ${type} ${flags} ${payload.length}`), data: (id, flags, length) => seen.push(`data ${id} ${flags} ${length}`) });
    inPieces(bytes, size, (piece) => reader.feed(piece));
    expect(seen).toEqual([expect.stringMatching(/^control 1 0 \d+$/), 'data 1 0 3000', 'data 1 1 0', 'control 3 0 8']);
  });

  it('refuses another SPDY version', () => {
    const frame = control(SYN_STREAM, 0, Buffer.alloc(10));
    frame.writeUInt16BE(0x8002, 0);
    expect(() => new SpdyFrameReader({ control: () => undefined, data: () => undefined }).feed(frame)).toThrow(/version 2/);
  });
});

describe('PortForwardObserver', () => {
  /** kubectl's side of two forwarded connections (error + data stream each), in WebSocket frames; the pod's answers. */
  async function tunnel() {
    const writer = new SpdyWriter();
    const spdy = Buffer.concat([
      await writer.synStream(1, { streamtype: 'error', port: '8080', requestid: '0' }),
      await writer.synStream(3, { streamtype: 'data', port: '8080', requestid: '0' }),
      data(3, Buffer.alloc(1000, 1)),
      data(3, Buffer.alloc(0), FLAG_FIN),
      await writer.synStream(5, { streamtype: 'error', port: '9090', requestid: '1' }),
      await writer.synStream(7, { streamtype: 'data', port: '9090', requestid: '1' }),
      data(7, Buffer.alloc(10, 2)),
    ]);
    // kubectl's tunnel cuts the SPDY stream into WebSocket messages wherever its writes end.
    const fromClient = Buffer.concat([wsFrame(spdy.subarray(0, 50), { masked: true }), wsFrame(spdy.subarray(50), { masked: true })]);
    const fromPod = wsFrame(Buffer.concat([data(3, Buffer.alloc(400, 3)), data(3, Buffer.alloc(0), FLAG_FIN), data(7, Buffer.alloc(5)), control(RST_STREAM, 0, Buffer.concat([u32(7), u32(5)]))]), { masked: false });
    return { fromClient, fromPod };
  }

  it.each([1, 3, 64, 100_000])('finds each connection to a pod port before its bytes go on, and counts them, split every %i bytes', async (size) => {
    const { fromClient, fromPod } = await tunnel();
    const opened: ForwardedConnection[] = [];
    const closed: ForwardedConnection[] = [];
    const observer = new PortForwardObserver({
      opened: async (connection) => void opened.push({ ...connection }),
      closed: (connection) => void closed.push({ ...connection }),
    });
    for (let at = 0; at < fromClient.length; at += size) {
      const waiting = observer.fromClient(fromClient.subarray(at, at + size));
      if (waiting) await waiting;
    }
    inPieces(fromPod, size, (piece) => observer.fromUpstream(piece));
    await new Promise((resolve) => setImmediate(resolve));
    expect(opened.map(({ streamId, port, requestId }) => ({ streamId, port, requestId }))).toEqual([
      { streamId: 3, port: 8080, requestId: '0' },
      { streamId: 7, port: 9090, requestId: '1' },
    ]);
    expect(closed).toEqual([
      { streamId: 3, port: 8080, requestId: '0', bytesToPod: 1000, bytesFromPod: 400 },
      { streamId: 7, port: 9090, requestId: '1', bytesToPod: 10, bytesFromPod: 5 },
    ]);
    observer.close();
  });

  it('holds the bytes that open a connection until its evidence is written, and fails when it cannot be', async () => {
    const { fromClient } = await tunnel();
    const observer = new PortForwardObserver({ opened: async () => Promise.reject(new Error('store down')), closed: () => undefined });
    const waiting = observer.fromClient(fromClient);
    expect(waiting).not.toBeNull();
    await expect(waiting).rejects.toThrow('store down');
    observer.close();
  });

  it('a header block that does not decompress breaks the tunnel', async () => {
    const bogus = control(SYN_STREAM, 0, Buffer.concat([u32(1), Buffer.alloc(6), Buffer.from('not zlib at all')]));
    const observer = new PortForwardObserver({ opened: async () => undefined, closed: () => undefined });
    await expect(observer.fromClient(wsFrame(bogus, { masked: true }))).rejects.toThrow(/does not decompress/);
    observer.close();
  });
});
