import { stat } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import { digestFile } from './recording-finalize.js';
import { recordingFormatOf, type RecordingFormatName } from './recording-format.js';

export interface RecordingCheck {
  path: string;
  /** The digest recorded at close (row / audit event), if any. */
  expected: { bytes: number; sha256: string } | null;
  present: boolean;
  /** asciicast (a terminal channel) or bytes (any other), from the file's first bytes. */
  format: RecordingFormatName | null;
  bytes: number | null;
  sha256: string | null;
  /** The file on disk still has the recorded digest. */
  matches: boolean;
  problem: string | null;
}

/** Compares a recording file with the digest recorded when it was closed. */
export async function checkRecording(path: string, expected: { bytes: number | null; sha256: string | null } | null): Promise<RecordingCheck> {
  const want = expected?.sha256 && expected.bytes !== null ? { bytes: expected.bytes, sha256: expected.sha256 } : null;
  try {
    await stat(path);
  } catch (err) {
    return { path, expected: want, present: false, format: null, bytes: null, sha256: null, matches: false, problem: `the file cannot be read: ${errorMessage(err)}` };
  }
  const actual = await digestFile(path);
  const format = await recordingFormatOf(path);
  const matches = want !== null && actual.sha256 === want.sha256 && actual.bytes === want.bytes;
  const problem = want === null ? 'no digest was recorded (the recording is not final yet)' : matches ? null : 'the file does not match its recorded digest';
  return { path, expected: want, present: true, format, bytes: actual.bytes, sha256: actual.sha256, matches, problem };
}
