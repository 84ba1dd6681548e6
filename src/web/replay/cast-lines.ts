import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** One newline-terminated line of an asciicast file and where it sits. */
export interface CastLine {
  /** The line without its newline. */
  bytes: Buffer;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte offset just past the newline. */
  next: number;
}

const CHUNK = 1024 * 1024;

/**
 * Complete lines of `path` from byte `start` to `end` (exclusive), read synchronously: for
 * worker threads. A last line without its newline is not returned (it is still being
 * written); `end` should be where a line ends.
 */
export function* readLinesSync(path: string, start = 0, end = Number.POSITIVE_INFINITY): Generator<CastLine> {
  const fd = openSync(path, 'r');
  try {
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = start;
    let position = start;
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (position < end) {
      const read = readSync(fd, buffer, 0, Math.min(CHUNK, end - position), position);
      if (read === 0) break;
      position += read;
      const chunk = carry.length ? Buffer.concat([carry, buffer.subarray(0, read)]) : buffer.subarray(0, read);
      let lineStart = 0;
      let newline: number;
      while ((newline = chunk.indexOf(10, lineStart)) !== -1) {
        const offset = carryOffset + lineStart;
        yield { bytes: chunk.subarray(lineStart, newline), offset, next: offset + (newline - lineStart) + 1 };
        lineStart = newline + 1;
      }
      carry = Buffer.from(chunk.subarray(lineStart));
      carryOffset += lineStart;
    }
  } finally {
    closeSync(fd);
  }
}

/** The same, asynchronously (on the gateway's event loop), for a bounded byte range. */
export async function readLines(path: string, start: number, end: number): Promise<CastLine[]> {
  const handle = await open(path, 'r');
  try {
    const length = Math.max(0, end - start);
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const lines: CastLine[] = [];
    let lineStart = 0;
    let newline: number;
    while ((newline = buffer.indexOf(10, lineStart)) !== -1 && newline < filled) {
      lines.push({ bytes: buffer.subarray(lineStart, newline), offset: start + lineStart, next: start + newline + 1 });
      lineStart = newline + 1;
    }
    return lines;
  } finally {
    await handle.close();
  }
}

export { parseEvent, parseHeader, peekEvent, recordedWithoutPty, type CastHeader } from '../../recorder/asciicast-lines.js';

/**
 * Output of a channel without a pseudo-terminal as the operator's terminal showed it: its
 * lines end in a bare "\n" and the operator's tty driver added the "\r" (ONLCR). A terminal
 * emulator fed the bytes as they are would draw a staircase.
 */
export function asTerminalOutput(data: string): string {
  return data.replace(/\r?\n/g, '\r\n');
}
