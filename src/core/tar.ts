import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * POSIX ustar archives (IEEE Std 1003.1, "pax" interchange format without extended
 * headers): 512-byte header blocks, each file's bytes padded to 512, two zero blocks at the
 * end. Only what an evidence bundle needs: regular files with names of at most 100 bytes.
 * Readable by every tar (GNU tar, bsdtar, Python's tarfile).
 */
const BLOCK = 512;

export class TarError extends Error {}

export interface TarEntryHeader {
  name: string;
  size: number;
  mtime: Date;
  /** `0` a regular file (anything else is refused by the reader). */
  type: string;
}

/** Writes entries one after the other into `out` (e.g. a gzip stream), honouring backpressure. */
export class TarWriter {
  constructor(private readonly out: Writable) {}

  async addBuffer(name: string, data: Buffer, mtime = new Date()): Promise<void> {
    await this.write(header(name, data.length, mtime));
    await this.write(data);
    await this.pad(data.length);
  }

  /** An entry of exactly `size` bytes read from `chunks` (a file that grows after is cut at `size`). */
  async addStream(name: string, size: number, chunks: AsyncIterable<Buffer>, mtime = new Date()): Promise<void> {
    await this.write(header(name, size, mtime));
    let written = 0;
    for await (const chunk of chunks) {
      const part = chunk.subarray(0, size - written);
      await this.write(part);
      written += part.length;
      if (written === size) break;
    }
    if (written !== size) throw new TarError(`${name}: expected ${size} bytes, read ${written} (the file shrank while it was archived)`);
    await this.pad(size);
  }

  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  private async write(data: Buffer): Promise<void> {
    if (!this.out.write(data)) await once(this.out, 'drain');
  }
}

function header(name: string, size: number, mtime: Date): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > 100 || !isSafeName(name)) throw new TarError(`tar: cannot store the name "${name}"`);
  const block = Buffer.alloc(BLOCK);
  nameBytes.copy(block, 0);
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, Math.floor(mtime.getTime() / 1000));
  block.fill(0x20, 148, 156);
  block.write('0', 156, 'ascii');
  block.write('ustar\u000000', 257, 'binary');
  block.write('custos', 265, 'ascii');
  block.write('custos', 297, 'ascii');
  const sum = checksum(block);
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'binary');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new TarError(`tar: ${value} does not fit a header field`);
  block.write(`${text}\u0000`, offset, 'binary');
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** A relative path without `.`/`..` segments, backslashes or control characters. */
export function isSafeName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (name.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(name)) return false;
  return name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export interface TarEntrySink {
  write(data: Buffer): Promise<void>;
  end(): Promise<void>;
}

/**
 * Reads an archive from `source` (gunzipped bytes), handing each regular file's bytes to the
 * sink `open` returns for it. Refuses what an evidence bundle never holds — links, devices,
 * directories, extended headers, unsafe names — naming the entry, and a bad header checksum.
 */
export async function readTar(source: AsyncIterable<Buffer>, open: (entry: TarEntryHeader) => Promise<TarEntrySink>): Promise<number> {
  let pending: Buffer = Buffer.alloc(0);
  let entry: { sink: TarEntrySink; remaining: number; padding: number; name: string } | null = null;
  let skipPadding = 0;
  let zeroBlocks = 0;
  let entries = 0;
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (true) {
      if (entry) {
        if (pending.length === 0) break;
        const part = pending.subarray(0, Math.min(entry.remaining, pending.length));
        pending = pending.subarray(part.length);
        entry.remaining -= part.length;
        if (part.length) await entry.sink.write(part);
        if (entry.remaining > 0) break;
        await entry.sink.end();
        skipPadding = entry.padding;
        entry = null;
        continue;
      }
      if (skipPadding > 0) {
        const skipped = Math.min(skipPadding, pending.length);
        pending = pending.subarray(skipped);
        skipPadding -= skipped;
        if (skipPadding > 0) break;
      }
      if (zeroBlocks >= 2 || pending.length < BLOCK) break;
      const block = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (block.every((byte) => byte === 0)) {
        zeroBlocks += 1;
        continue;
      }
      if (zeroBlocks > 0) throw new TarError('tar: data after an end-of-archive block');
      const parsed = parseHeader(block);
      entries += 1;
      const sink = await open(parsed);
      entry = { sink, remaining: parsed.size, padding: (BLOCK - (parsed.size % BLOCK)) % BLOCK, name: parsed.name };
      if (parsed.size === 0) {
        await sink.end();
        entry = null;
      }
    }
  }
  if (entry) throw new TarError(`tar: ${entry.name} is cut short (${entry.remaining} bytes missing)`);
  if (zeroBlocks === 0) throw new TarError('tar: the archive is truncated (no end-of-archive block)');
  return entries;
}

function parseHeader(block: Buffer): TarEntryHeader {
  const field = (offset: number, length: number) => {
    const raw = block.subarray(offset, offset + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end < 0 ? length : end).toString('utf8');
  };
  const number = (offset: number, length: number, what: string) => {
    const text = field(offset, length).trim();
    if (!/^[0-7]+$/.test(text)) throw new TarError(`tar: a header has a bad ${what} field`);
    return parseInt(text, 8);
  };
  if (number(148, 8, 'checksum') !== checksum(block)) throw new TarError('tar: a header block is damaged (checksum mismatch)');
  const prefix = field(345, 155);
  const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
  const type = String.fromCharCode(block[156]!) === '\u0000' ? '0' : String.fromCharCode(block[156]!);
  if (type !== '0') throw new TarError(`tar: ${name} is not a regular file (type "${type}"); a bundle holds only files`);
  if (!isSafeName(name)) throw new TarError(`tar: the entry name "${name}" is not a safe relative path`);
  return { name, size: number(124, 12, 'size'), mtime: new Date(number(136, 12, 'mtime') * 1000), type };
}
