import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { BYTES_MAGIC, looksLikeByteRecording } from './byte-recording.js';
import { readByteRecordingHeader, scanFrames } from './byte-recording-reader.js';

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
 * part way) final: a torn end is cut off — for asciicast the bytes after the last newline,
 * which no player can parse; for a byte recording what follows the last complete frame —
 * and the digest of what remains is returned. Every complete event written before the
 * failure is kept.
 */
export async function finalizeRecordingFile(path: string): Promise<RecordingDigest> {
  const size = (await stat(path)).size;
  const handle = await open(path, 'r+');
  try {
    const start = Buffer.alloc(Math.min(size, BYTES_MAGIC.length));
    await handle.read(start, 0, start.length, 0);
    const end = looksLikeByteRecording(start) ? await lastFrameEnd(handle, size) : await lastLineEnd(handle, size);
    if (end !== size) {
      await handle.truncate(end);
      await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  return digestFile(path);
}

/** Just past the last complete frame (0 when even the header is incomplete). */
async function lastFrameEnd(handle: FileHandle, size: number): Promise<number> {
  const start = await readByteRecordingHeader(handle);
  if (!start) return 0;
  const scan = scanFrames(handle, start.framesAt, size, false);
  for await (const _frame of scan.frames);
  return scan.end();
}

/** Just past the last newline of an asciicast file. */
async function lastLineEnd(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const tail = Math.min(size, 64 * 1024);
  const buffer = Buffer.alloc(tail);
  await handle.read(buffer, 0, tail, size - tail);
  const lastNewline = buffer.lastIndexOf(0x0a);
  if (lastNewline === tail - 1) return size;
  // Search further back only if the torn line is longer than the tail we read.
  return lastNewline >= 0 ? size - tail + lastNewline + 1 : lastNewlineBefore(handle, size - tail);
}

async function lastNewlineBefore(handle: FileHandle, limit: number): Promise<number> {
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
