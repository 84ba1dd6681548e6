import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { notFound } from './errors.js';
import { RecorderError } from '../recorder/errors.js';
import { locateRecordingFile, type RecordingFile } from '../recorder/recording-location.js';

/** A recording named by a session row, only inside the recordings directory; 404 otherwise. */
export async function locateRecording(recordingsDir: string, path: string | null): Promise<RecordingFile> {
  try {
    return await locateRecordingFile(recordingsDir, path);
  } catch (err) {
    if (err instanceof RecorderError && err.code === 'not_found') throw notFound(err.message);
    throw err;
  }
}

/** sha256 of a file, streamed. Results are cached by path, size and mtime. */
const digestCache = new Map<string, string>();

export async function fileSha256(file: RecordingFile): Promise<string> {
  const key = `${file.realPath}\0${file.size}\0${file.mtimeMs}`;
  const cached = digestCache.get(key);
  if (cached) return cached;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file.realPath)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  digestCache.set(key, digest);
  if (digestCache.size > 256) digestCache.delete(digestCache.keys().next().value!);
  return digest;
}

/** A single `bytes=` range (RFC 9110 §14.1.2), or null for none; 'invalid' if unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}
