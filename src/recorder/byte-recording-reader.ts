import { open, type FileHandle } from 'node:fs/promises';
import {
  FRAME_HEADER_BYTES,
  FRAME_STREAMS,
  MAX_HEADER_BYTES,
  parseHeader,
  readFrameHeader,
  type ByteRecordingHeader,
  type ByteStream,
  type FrameHeader,
} from './byte-recording.js';

const BLOCK = 1024 * 1024;

export interface FileFrame extends FrameHeader {
  /** Offset of the frame's header in the file. */
  offset: number;
  /** The payload (only when asked for); valid after the next frame is read. */
  data: Buffer | null;
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
async function readAt(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** The header of the byte recording open in `handle`, or null if it is incomplete. */
export async function readByteRecordingHeader(handle: FileHandle): Promise<{ header: ByteRecordingHeader; framesAt: number } | null> {
  return parseHeader(await readAt(handle, MAX_HEADER_BYTES, 0));
}

/**
 * The complete frames of a byte recording from `from` up to `size`, read in blocks; stops
 * at a torn or invalid frame. `end()` is then the offset just past the last complete frame.
 */
export function scanFrames(handle: FileHandle, from: number, size: number, withData: boolean): { frames: AsyncGenerator<FileFrame>; end(): number } {
  let end = from;
  async function* frames(): AsyncGenerator<FileFrame> {
    let block: Buffer = Buffer.alloc(0);
    let blockAt = from;
    let at = from;
    while (at + FRAME_HEADER_BYTES <= size) {
      if (at + FRAME_HEADER_BYTES > blockAt + block.length) {
        block = await readAt(handle, Math.min(BLOCK, size - at), at);
        blockAt = at;
        if (block.length < FRAME_HEADER_BYTES) return;
      }
      const frame = readFrameHeader(block, at - blockAt);
      const payloadAt = at + FRAME_HEADER_BYTES;
      if (!frame || payloadAt + frame.length > size) return;
      let data: Buffer | null = null;
      if (withData) {
        data =
          payloadAt + frame.length <= blockAt + block.length
            ? block.subarray(payloadAt - blockAt, payloadAt - blockAt + frame.length)
            : await readAt(handle, frame.length, payloadAt);
        if (data.length < frame.length) return;
      }
      yield { ...frame, offset: at, data };
      at = payloadAt + frame.length;
      end = at;
    }
  }
  return { frames: frames(), end: () => end };
}

/** Opens a byte recording for reading: its header and its frames, in order. */
export async function openByteRecording(path: string): Promise<{
  header: ByteRecordingHeader;
  /** Offset of the first frame. */
  framesAt: number;
  size: number;
  frames(withData?: boolean): AsyncGenerator<FileFrame>;
  close(): Promise<void>;
}> {
  const handle = await open(path, 'r');
  try {
    const start = await readByteRecordingHeader(handle);
    if (!start) throw new Error('not a custos byte recording (or its header is incomplete)');
    const { size } = await handle.stat();
    return {
      header: start.header,
      framesAt: start.framesAt,
      size,
      frames: (withData = true) => scanFrames(handle, start.framesAt, size, withData).frames,
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** One stream's bytes exactly as they passed, frame by frame. */
export async function* streamBytes(path: string, stream: ByteStream): AsyncGenerator<Buffer> {
  const recording = await openByteRecording(path);
  try {
    for await (const frame of recording.frames()) if (FRAME_STREAMS[frame.stream] === stream) yield frame.data!;
  } finally {
    await recording.close();
  }
}
