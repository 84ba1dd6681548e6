import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { eventLine, eventLinePrefix, headerLine, type AsciicastHeader, type EventCode } from './asciicast.js';
import { LineBuffer } from './line-buffer.js';
import { Utf8Stream } from './utf8-split.js';

/** One per thread: files are written synchronously, one append at a time. */
const LINES = new LineBuffer();

export interface RecordingEvent {
  /** Seconds since the recording started. */
  t: number;
  code: EventCode;
  /** Terminal bytes for "o"/"i" (decoded here, across chunk boundaries); text otherwise. */
  data: Uint8Array | string;
}

/**
 * One asciicast file being written: encodes events, appends them, keeps the running sha256
 * of every byte written (so the digest at close is the digest of the file), and syncs to
 * disk on request. Synchronous on purpose: it runs in the recording writer's thread.
 */
export class RecordingFile {
  private readonly hash = createHash('sha256');
  private size = 0;
  private dirty = false;
  private lastT = 0;
  private readonly streams = { o: new Utf8Stream(), i: new Utf8Stream() };

  private constructor(
    readonly path: string,
    private fd: number | null,
  ) {}

  /** Creates the file (never overwrites one) and writes the header. */
  static create(path: string, header: AsciicastHeader): RecordingFile {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const fd = openSync(path, 'wx', 0o640);
    const file = new RecordingFile(path, fd);
    try {
      file.write(headerLine(header));
    } catch (err) {
      file.closeQuietly();
      throw err;
    }
    return file;
  }

  get bytes(): number {
    return this.size;
  }

  append(events: RecordingEvent[]): void {
    const out = LINES;
    out.reset();
    for (const event of events) {
      const stream = event.code === 'o' || event.code === 'i' ? this.streams[event.code] : null;
      if (stream && typeof event.data !== 'string' && stream.isPlainAscii(event.data)) {
        if (event.data.length === 0) continue;
        this.lastT = Math.max(this.lastT, event.t);
        out.text(eventLinePrefix(this.lastT, event.code));
        out.jsonStringOfAscii(event.data);
        out.text(']\n');
        continue;
      }
      const text = this.text(event);
      if (text === '') continue;
      this.lastT = Math.max(this.lastT, event.t);
      out.text(eventLine(this.lastT, event.code, text));
    }
    if (out.size > 0) this.writeBytes(out.view());
  }

  sync(): void {
    if (this.fd === null || !this.dirty) return;
    fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /** Writes what the decoders still hold, syncs and closes; returns size and digest. */
  close(): { bytes: number; sha256: string } {
    const rest: RecordingEvent[] = [];
    for (const code of ['o', 'i'] as const) {
      const text = this.streams[code].end();
      if (text) rest.push({ t: this.lastT, code, data: text });
    }
    if (rest.length) this.append(rest);
    this.sync();
    this.closeQuietly();
    return { bytes: this.size, sha256: this.hash.digest('hex') };
  }

  closeQuietly(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed or the disk is gone; the caller digests what is on disk
    }
    this.fd = null;
  }

  private text(event: RecordingEvent): string {
    if (typeof event.data === 'string') return event.data;
    if (event.code === 'o' || event.code === 'i') return this.streams[event.code].decode(event.data);
    return Buffer.from(event.data).toString('utf8');
  }

  private write(text: string): void {
    this.writeBytes(Buffer.from(text));
  }

  private writeBytes(buffer: Buffer): void {
    if (this.fd === null) throw new Error(`recording ${this.path} is closed`);
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
    this.hash.update(buffer);
    this.size += buffer.length;
    this.dirty = true;
  }
}
