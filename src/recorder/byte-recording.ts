import type { RecordingTags } from './asciicast.js';

/**
 * Custos byte recording (`.bytes`): the bytes of a channel without a terminal (exec,
 * subsystems such as sftp, scp) exactly as they passed, never escaped. Layout (README
 * "Byte recordings"; integers big-endian):
 *
 *   "custos-bytes/1\n"                 magic and format version
 *   header JSON, "\n"                  {version: 1, timestamp, command?, subsystem?, env, custos}
 *   frames until the end of the file, each:
 *     stream  u8     'o' stdout, 'e' stderr, 'i' stdin, 'm' marker (UTF-8 text),
 *                    'x' exit (JSON {"code": n|null, "signal": name|null})
 *     time    u64    microseconds since the recording started
 *     length  u32    payload bytes
 *     payload
 *
 * A file cut inside its last frame (a crash) is made final by cutting that frame off.
 */
export const BYTES_MAGIC = Buffer.from('custos-bytes/1\n', 'latin1');
export const FRAME_HEADER_BYTES = 13;
/** The longest header line a reader accepts (exec commands can be long; env is filtered). */
export const MAX_HEADER_BYTES = 1024 * 1024;

export const FRAME_STREAMS = { o: 'stdout', e: 'stderr', i: 'stdin', m: 'marker', x: 'exit' } as const;
export type FrameStream = keyof typeof FRAME_STREAMS;
/** The streams of bytes a channel carries (the other frames are markers and the exit). */
export const BYTE_STREAMS = ['stdout', 'stderr', 'stdin'] as const;
export type ByteStream = (typeof BYTE_STREAMS)[number];
const STREAM_CODES = new Map<number, FrameStream>(Object.keys(FRAME_STREAMS).map((code) => [code.charCodeAt(0), code as FrameStream]));

export interface ByteRecordingHeader {
  version: 1;
  /** Unix time in seconds of the recording's start. */
  timestamp: number;
  command?: string;
  subsystem?: string;
  title?: string;
  env?: Record<string, string>;
  custos: RecordingTags;
}

export interface FrameHeader {
  stream: FrameStream;
  micros: number;
  length: number;
}

export function headerBytes(header: ByteRecordingHeader): Buffer {
  return Buffer.concat([BYTES_MAGIC, Buffer.from(`${JSON.stringify(header)}\n`)]);
}

/** Writes a frame header at `at` (13 bytes). */
export function writeFrameHeader(target: Buffer, at: number, stream: FrameStream, micros: number, length: number): void {
  target[at] = stream.charCodeAt(0);
  const whole = Math.max(0, Math.round(micros));
  target.writeUInt32BE(Math.floor(whole / 2 ** 32), at + 1);
  target.writeUInt32BE(whole % 2 ** 32, at + 5);
  target.writeUInt32BE(length, at + 9);
}

/** The frame header at `at`, or null when its stream byte is not one of the format's. */
export function readFrameHeader(source: Buffer, at: number): FrameHeader | null {
  const stream = STREAM_CODES.get(source[at]!);
  if (!stream) return null;
  return { stream, micros: source.readUInt32BE(at + 1) * 2 ** 32 + source.readUInt32BE(at + 5), length: source.readUInt32BE(at + 9) };
}

/** The file starts like a byte recording (or is a torn prefix of its magic). */
export function looksLikeByteRecording(start: Buffer): boolean {
  const n = Math.min(start.length, BYTES_MAGIC.length);
  return n > 0 && start.subarray(0, n).equals(BYTES_MAGIC.subarray(0, n));
}

/** Where the frames start and what the header says; null if the header is not complete. */
export function parseHeader(start: Buffer): { header: ByteRecordingHeader; framesAt: number } | null {
  if (start.length < BYTES_MAGIC.length || !start.subarray(0, BYTES_MAGIC.length).equals(BYTES_MAGIC)) return null;
  const newline = start.indexOf(0x0a, BYTES_MAGIC.length);
  if (newline < 0) return null;
  const header = JSON.parse(start.toString('utf8', BYTES_MAGIC.length, newline)) as ByteRecordingHeader;
  if (header.version !== 1) throw new Error(`unsupported byte recording version ${String(header.version)}`);
  return { header, framesAt: newline + 1 };
}

export interface Frame extends FrameHeader {
  /** Seconds since the recording started. */
  time: number;
  data: Buffer;
}

export interface ParsedByteRecording {
  header: ByteRecordingHeader;
  frames: Frame[];
  /** Bytes after the last complete frame (a torn frame after a crash, or garbage). */
  trailing: number;
}

/** Parses a whole recording held in memory (tests, small files); tolerant of a torn end. */
export function parseByteRecording(file: Buffer): ParsedByteRecording {
  const start = parseHeader(file);
  if (!start) throw new Error('not a custos byte recording (or its header is incomplete)');
  const frames: Frame[] = [];
  let at = start.framesAt;
  while (at + FRAME_HEADER_BYTES <= file.length) {
    const frame = readFrameHeader(file, at);
    if (!frame || at + FRAME_HEADER_BYTES + frame.length > file.length) break;
    const from = at + FRAME_HEADER_BYTES;
    frames.push({ ...frame, time: frame.micros / 1e6, data: file.subarray(from, from + frame.length) });
    at = from + frame.length;
  }
  return { header: start.header, frames, trailing: file.length - at };
}
