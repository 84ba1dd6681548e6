import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { RecorderError } from './errors.js';

/** A recording file as found on disk; the key changes when the file does. */
export interface RecordingFile {
  realPath: string;
  size: number;
  mtimeMs: number;
}

/**
 * A recording named by a session row, refusing anything that does not resolve (after
 * symlinks) to a regular file inside the recordings directory: the path column is data, and
 * must never turn a reader (the viewer, an export) into a reader of arbitrary files.
 * Throws RecorderError `not_found` with the reason.
 */
export async function locateRecordingFile(recordingsDir: string, path: string | null): Promise<RecordingFile> {
  if (!path) throw new RecorderError('not_found', 'this session has no recording');
  let root: string;
  let real: string;
  try {
    root = await realpath(recordingsDir);
    real = await realpath(path);
  } catch {
    throw new RecorderError('not_found', 'the recording file is missing');
  }
  if (!real.startsWith(root + sep)) throw new RecorderError('not_found', 'the recording is not in the recordings directory');
  const info = await stat(real);
  if (!info.isFile()) throw new RecorderError('not_found', 'the recording is not a file');
  return { realPath: real, size: info.size, mtimeMs: info.mtimeMs };
}
