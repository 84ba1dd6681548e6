import { createHash } from 'node:crypto';
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, writeSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A recording file being written: created once (never overwriting one), appended to, with
 * the running sha256 of every byte written (so the digest at close is the digest of the
 * file), synced on request. Writes are synchronous on purpose (it runs in the recording
 * writer's thread); the periodic sync runs beside them, so a slow disk flush does not stop
 * the writes that come in meanwhile.
 */
export class AppendOnlyFile {
  private readonly hash = createHash('sha256');
  private size = 0;
  private dirty = false;
  private syncing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private fd: number | null,
  ) {}

  /** Creates the file and writes its first bytes (the format's header). */
  static create(path: string, head: Uint8Array): AppendOnlyFile {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const fd = openSync(path, 'wx', 0o640);
    const file = new AppendOnlyFile(path, fd);
    try {
      file.write(head);
    } catch (err) {
      file.closeQuietly();
      throw err;
    }
    return file;
  }

  get bytes(): number {
    return this.size;
  }

  write(buffer: Uint8Array): void {
    const fd = this.open();
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
    this.written([buffer]);
  }

  /** Writes the buffers back to back in as few system calls as the kernel allows. */
  writev(buffers: Uint8Array[]): void {
    const fd = this.open();
    const pending = buffers.filter((buffer) => buffer.length > 0);
    while (pending.length > 0) {
      let wrote = writevSync(fd, pending.slice(0, 1024));
      // A short write: skip what went out and continue from inside the first unwritten buffer.
      while (pending.length > 0 && wrote >= pending[0]!.length) wrote -= pending.shift()!.length;
      if (wrote > 0) pending[0] = pending[0]!.subarray(wrote);
    }
    this.written(buffers);
  }

  /**
   * Starts an fdatasync of what was written so far, unless one is running; resolves when it
   * is done, rejects if it failed. Bytes written meanwhile are covered by the next one.
   */
  syncInBackground(): Promise<void> {
    if (this.fd === null || !this.dirty || this.syncing) return Promise.resolve();
    const fd = this.fd;
    this.dirty = false;
    this.syncing = new Promise<void>((resolve, reject) =>
      fdatasync(fd, (err) => {
        this.syncing = null;
        // After closeQuietly the descriptor is gone: nothing to report.
        if (err && this.fd !== null) reject(err);
        else resolve();
      }),
    );
    return this.syncing;
  }

  /** Syncs and closes; returns the size and digest of everything written. */
  async close(): Promise<{ bytes: number; sha256: string }> {
    await this.syncing;
    if (this.fd !== null && this.dirty) fdatasyncSync(this.fd);
    this.dirty = false;
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

  private open(): number {
    if (this.fd === null) throw new Error(`recording ${this.path} is closed`);
    return this.fd;
  }

  private written(buffers: Uint8Array[]): void {
    for (const buffer of buffers) {
      this.hash.update(buffer);
      this.size += buffer.length;
    }
    this.dirty = true;
  }
}
