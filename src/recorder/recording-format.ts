import { open } from 'node:fs/promises';
import { BYTES_MAGIC, looksLikeByteRecording } from './byte-recording.js';

/** The two recording formats: asciicast v2 for terminals, byte recordings for the rest. */
export type RecordingFormatName = 'asciicast' | 'bytes';

/** Which format a recording's first bytes say it is (null: neither). */
export function sniffRecordingFormat(start: Buffer): RecordingFormatName | null {
  if (start.length >= BYTES_MAGIC.length && looksLikeByteRecording(start)) return 'bytes';
  return start[0] === 0x7b ? 'asciicast' : null;
}

/** The format of a recording file, from its first bytes (null: unreadable or neither). */
export async function recordingFormatOf(path: string): Promise<RecordingFormatName | null> {
  try {
    const handle = await open(path, 'r');
    try {
      const start = Buffer.alloc(BYTES_MAGIC.length);
      const { bytesRead } = await handle.read(start, 0, start.length, 0);
      return sniffRecordingFormat(start.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}
