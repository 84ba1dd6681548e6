import { describe, expect, it } from 'vitest';
import type { ObservedFileOperation } from './file-operation.js';
import { SftpObserver } from './sftp-observer.js';
import { SFTP, SftpPacketReader } from './sftp-packets.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
const packet = (type: number, ...parts: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
};

const H1 = Buffer.from([0, 0, 0, 1]);
const H2 = Buffer.from([0, 0, 0, 2]);
const data = Buffer.alloc(5000, 'd');
const attrs = u32(0);

/** A client uploading a file, downloading another, and managing paths — as pairs of (request, response). */
const CONVERSATION: Array<[Buffer, Buffer]> = [
  [packet(SFTP.INIT, u32(3)), packet(SFTP.VERSION, u32(3))],
  [packet(SFTP.OPEN, u32(1), str('/up/new.bin'), u32(0x02 | 0x08 | 0x10), attrs), packet(SFTP.HANDLE, u32(1), str(H1))],
  [packet(SFTP.WRITE, u32(2), str(H1), u64(0), str(data)), packet(SFTP.STATUS, u32(2), u32(0), str(''), str(''))],
  [packet(SFTP.WRITE, u32(3), str(H1), u64(5000), str(data.subarray(0, 1000))), packet(SFTP.STATUS, u32(3), u32(0), str(''), str(''))],
  [packet(SFTP.CLOSE, u32(4), str(H1)), packet(SFTP.STATUS, u32(4), u32(0), str(''), str(''))],
  [packet(SFTP.OPEN, u32(5), str('/etc/hostname'), u32(0x01), attrs), packet(SFTP.HANDLE, u32(5), str(H2))],
  [packet(SFTP.READ, u32(6), str(H2), u64(0), u32(32768)), packet(SFTP.DATA, u32(6), str(Buffer.alloc(12, 'h')))],
  [packet(SFTP.READ, u32(7), str(H2), u64(12), u32(32768)), packet(SFTP.STATUS, u32(7), u32(1), str('EOF'), str(''))],
  [packet(SFTP.CLOSE, u32(8), str(H2)), packet(SFTP.STATUS, u32(8), u32(0), str(''), str(''))],
  [packet(SFTP.OPEN, u32(9), str('/root/missing'), u32(0x01), attrs), packet(SFTP.STATUS, u32(9), u32(2), str('No such file'), str(''))],
  [packet(SFTP.MKDIR, u32(10), str('/up/dir'), attrs), packet(SFTP.STATUS, u32(10), u32(0), str(''), str(''))],
  [packet(SFTP.EXTENDED, u32(11), str('posix-rename@openssh.com'), str('/up/a'), str('/up/b')), packet(SFTP.STATUS, u32(11), u32(0), str(''), str(''))],
  [packet(SFTP.REMOVE, u32(12), str('/up/b')), packet(SFTP.STATUS, u32(12), u32(3), str('Permission denied'), str(''))],
  [packet(SFTP.STAT, u32(13), str('/up')), packet(SFTP.ATTRS, u32(13), attrs)],
];

const EXPECTED = [
  { operation: 'open', path: '/up/new.bin', result: 'ok', bytes: null },
  { operation: 'write', path: '/up/new.bin', result: 'ok', bytes: 6000 },
  { operation: 'open', path: '/etc/hostname', result: 'ok', bytes: null },
  { operation: 'read', path: '/etc/hostname', result: 'ok', bytes: 12 },
  { operation: 'open', path: '/root/missing', result: 'error', error: 'No such file' },
  { operation: 'mkdir', path: '/up/dir', result: 'ok' },
  { operation: 'rename', path: '/up/a', targetPath: '/up/b', result: 'ok' },
  { operation: 'remove', path: '/up/b', result: 'error', error: 'Permission denied' },
];

function run(split: (buffer: Buffer) => Buffer[]): ObservedFileOperation[] {
  const seen: ObservedFileOperation[] = [];
  const observer = new SftpObserver((op) => seen.push(op));
  for (const [request, response] of CONVERSATION) {
    for (const piece of split(request)) observer.fromClient(piece);
    for (const piece of split(response)) observer.fromServer(piece);
  }
  observer.finish();
  expect(observer.broken).toBeNull();
  return seen;
}

describe('SftpObserver', () => {
  it('reports each file operation with its path, bytes and result', () => {
    expect(run((b) => [b])).toMatchObject(EXPECTED);
    expect(run((b) => [b])).toHaveLength(EXPECTED.length);
  });

  it('reports the same operations whatever the chunking (split at every byte)', () => {
    const whole = run((b) => [b]);
    for (let cut = 1; cut < 40; cut++) {
      expect(run((b) => [b.subarray(0, cut), b.subarray(cut)])).toEqual(whole.map((op) => ({ ...op, time: expect.any(Date) })));
    }
    expect(run((b) => [...b].map((byte) => Buffer.from([byte])))).toMatchObject(EXPECTED);
  });

  it('reports files still open when the channel ends', () => {
    const seen: ObservedFileOperation[] = [];
    const observer = new SftpObserver((op) => seen.push(op));
    observer.fromClient(packet(SFTP.OPEN, u32(1), str('/tmp/partial'), u32(0x02), attrs));
    observer.fromServer(packet(SFTP.HANDLE, u32(1), str(H1)));
    observer.fromClient(packet(SFTP.WRITE, u32(2), str(H1), u64(0), str(data)));
    observer.fromServer(packet(SFTP.STATUS, u32(2), u32(0), str(''), str('')));
    observer.finish();
    expect(seen.map((op) => [op.operation, op.bytes])).toEqual([
      ['open', null],
      ['write', 5000],
    ]);
  });
});

describe('SftpPacketReader', () => {
  it('keeps only the head of data packets', () => {
    const heads: number[] = [];
    const reader = new SftpPacketReader((p) => heads.push(p.head.length));
    reader.push(packet(SFTP.WRITE, u32(2), str(H1), u64(0), str(Buffer.alloc(100_000))));
    expect(heads[0]).toBeLessThan(300);
  });

  it('gives up on a stream that is not SFTP', () => {
    const reader = new SftpPacketReader(() => undefined);
    reader.push(Buffer.from('SSH-2.0-not sftp at all\r\n'));
    expect(reader.broken).toMatch(/not plausible/);
  });
});
