import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export interface RecordingDigest {
  path: string;
  bytes: number;
  sha256: string;
}

/** sha256 and size of a file as it is on disk now. */
export async function digestFile(path: string): Promise<RecordingDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { path, bytes, sha256: hash.digest('hex') };
}

/**
 * Makes a recording that was not closed normally (the gateway crashed, or a write failed
 * part way) final: a torn last line — bytes after the last newline, which no player can
 * parse — is cut off, and the digest of what remains is returned. Every complete event
 * written before the failure is kept.
 */
export async function finalizeRecordingFile(path: string): Promise<RecordingDigest> {
  const size = (await stat(path)).size;
  const handle = await open(path, 'r+');
  try {
    const tail = Math.min(size, 64 * 1024);
    let end = size;
    if (size > 0) {
      const buffer = Buffer.alloc(tail);
      await handle.read(buffer, 0, tail, size - tail);
      const lastNewline = buffer.lastIndexOf(0x0a);
      if (lastNewline !== tail - 1) {
        // Search further back only if the torn line is longer than the tail we read.
        end = lastNewline >= 0 ? size - tail + lastNewline + 1 : await lastNewlineBefore(handle, size - tail);
      }
    }
    if (end !== size) {
      await handle.truncate(end);
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  return digestFile(path);
}

async function lastNewlineBefore(handle: import('node:fs/promises').FileHandle, limit: number): Promise<number> {
  const block = 1024 * 1024;
  for (let end = limit; end > 0; end -= block) {
    const start = Math.max(0, end - block);
    const buffer = Buffer.alloc(end - start);
    await handle.read(buffer, 0, buffer.length, start);
    const at = buffer.lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
  }
  return 0;
}
