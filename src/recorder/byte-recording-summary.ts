import { createHash, type Hash } from 'node:crypto';
import { openByteRecording } from './byte-recording-reader.js';
import { BYTE_STREAMS, FRAME_HEADER_BYTES, FRAME_STREAMS, type ByteRecordingHeader, type ByteStream } from './byte-recording.js';
import type { ChannelExit } from './session-recorder.js';

/** Control characters other than tab, newline and carriage return, DEL, and C1 controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_PRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * Whether a stream of bytes, fed in pieces, is text a terminal shows as it is: valid UTF-8
 * without control characters (escape sequences included) other than tab and line ends.
 */
export class PrintableText {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  printable = true;

  /** The text of this piece (characters split across pieces come with the next), or null once not printable. */
  push(bytes: Uint8Array): string | null {
    if (!this.printable) return null;
    try {
      const text = this.decoder.decode(bytes, { stream: true });
      if (!NOT_PRINTABLE.test(text)) return text;
    } catch {
      // not UTF-8
    }
    this.printable = false;
    return null;
  }

  /** What is left (an incomplete character at the end makes the stream not printable). */
  end(): string | null {
    if (!this.printable) return null;
    try {
      const text = this.decoder.decode();
      if (!NOT_PRINTABLE.test(text)) return text;
    } catch {
      // ends inside a character
    }
    this.printable = false;
    return null;
  }
}

export interface StreamSummary {
  bytes: number;
  /** sha256 of the stream's bytes (e.g. to compare a recorded download with a file). */
  sha256: string;
  /** Printable UTF-8 text (PrintableText); true for an empty stream. */
  printable: boolean;
  /** The text itself, when printable and asked for (`textUpTo`) and not longer. */
  text?: string;
}

export interface ByteRecordingSummary {
  format: 'bytes';
  header: ByteRecordingHeader;
  streams: Record<ByteStream, StreamSummary>;
  exit: ChannelExit | null;
  markers: string[];
  frames: number;
  /** Bytes after the last complete frame: a frame still being written, or a torn end. */
  trailing: number;
}

/** Reads a byte recording once: per stream its size, digest and whether it is text. */
export async function summarizeByteRecording(path: string, options: { textUpTo?: number } = {}): Promise<ByteRecordingSummary> {
  const recording = await openByteRecording(path);
  const textUpTo = options.textUpTo ?? 0;
  const streams = Object.fromEntries(
    BYTE_STREAMS.map((name) => [name, { bytes: 0, hash: createHash('sha256'), text: new PrintableText(), kept: [] as string[] }]),
  ) as Record<ByteStream, { bytes: number; hash: Hash; text: PrintableText; kept: string[] }>;
  let exit: ChannelExit | null = null;
  const markers: string[] = [];
  let frames = 0;
  let end = recording.framesAt;
  try {
    for await (const frame of recording.frames()) {
      frames += 1;
      end = frame.offset + FRAME_HEADER_BYTES + frame.length;
      const data = frame.data!;
      const name = FRAME_STREAMS[frame.stream];
      if (name === 'exit') exit = JSON.parse(data.toString('utf8')) as ChannelExit;
      else if (name === 'marker') markers.push(data.toString('utf8'));
      else {
        const stream = streams[name];
        stream.bytes += data.length;
        stream.hash.update(data);
        const text = stream.text.push(data);
        if (text !== null && stream.bytes <= textUpTo) stream.kept.push(text);
      }
    }
  } finally {
    await recording.close();
  }
  const summary = (stream: (typeof streams)[ByteStream]): StreamSummary => {
    const rest = stream.text.end();
    const printable = stream.text.printable;
    return {
      bytes: stream.bytes,
      sha256: stream.hash.digest('hex'),
      printable,
      ...(printable && stream.bytes <= textUpTo ? { text: stream.kept.join('') + (rest ?? '') } : {}),
    };
  };
  return {
    format: 'bytes',
    header: recording.header,
    streams: { stdout: summary(streams.stdout), stderr: summary(streams.stderr), stdin: summary(streams.stdin) },
    exit,
    markers,
    frames,
    trailing: recording.size - end,
  };
}
