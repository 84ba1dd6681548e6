import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { notFound } from './errors.js';
import type { RecordingFile } from './replay/replay-service.js';

/**
 * Opens a recording named by a session row, refusing anything that does not resolve (after
 * symlinks) to a regular file inside the recordings directory: the path column is data, and
 * must never turn the viewer into a reader of arbitrary files.
 */
export async function locateRecording(recordingsDir: string, path: string | null): Promise<RecordingFile> {
  if (!path) throw notFound('this session has no recording');
  let root: string;
  let real: string;
  try {
    root = await realpath(recordingsDir);
    real = await realpath(path);
  } catch {
    throw notFound('the recording file is missing');
  }
  if (!real.startsWith(root + sep)) throw notFound('the recording is not in the recordings directory');
  const info = await stat(real);
  if (!info.isFile()) throw notFound('the recording is not a file');
  return { realPath: real, size: info.size, mtimeMs: info.mtimeMs };
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
