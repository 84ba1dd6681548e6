import { readFileSync } from 'node:fs';
import { parseByteRecording, type ByteRecordingHeader, type Frame } from '../../src/recorder/byte-recording.js';

/** A byte recording's streams, each the concatenation of its frames. */
export interface RecordedStreams {
  header: ByteRecordingHeader;
  frames: Frame[];
  stdout: Buffer;
  stderr: Buffer;
  stdin: Buffer;
  exit: { code: number | null; signal: string | null } | null;
  trailing: number;
}

export function readByteRecording(path: string): RecordedStreams {
  const parsed = parseByteRecording(readFileSync(path));
  const stream = (code: string) => Buffer.concat(parsed.frames.filter((frame) => frame.stream === code).map((frame) => frame.data));
  const exit = parsed.frames.find((frame) => frame.stream === 'x');
  return {
    header: parsed.header,
    frames: parsed.frames,
    stdout: stream('o'),
    stderr: stream('e'),
    stdin: stream('i'),
    exit: exit ? (JSON.parse(exit.data.toString()) as RecordedStreams['exit']) : null,
    trailing: parsed.trailing,
  };
}

/** SFTP packets of one direction of a recorded channel: `uint32 length, byte type, payload`. */
function* sftpPackets(stream: Buffer): Generator<{ type: number; payload: Buffer }> {
  for (let at = 0; at + 5 <= stream.length; ) {
    const length = stream.readUInt32BE(at);
    yield { type: stream[at + 4]!, payload: stream.subarray(at + 5, at + 4 + length) };
    at += 4 + length;
  }
}

const READ = 5;
const WRITE = 6;
const DATA = 103;

/**
 * The file contents an SFTP channel moved, rebuilt from its recording alone: WRITE requests
 * placed at their offsets (uploads, from stdin), and DATA replies placed at the offsets of
 * the READ requests they answer (downloads).
 */
export function sftpTransfers(recording: RecordedStreams): { written: Buffer; read: Buffer } {
  const place = (pieces: Array<{ offset: number; data: Buffer }>) => {
    const size = Math.max(0, ...pieces.map((piece) => piece.offset + piece.data.length));
    const out = Buffer.alloc(size);
    for (const piece of pieces) piece.data.copy(out, piece.offset);
    return out;
  };
  const writes: Array<{ offset: number; data: Buffer }> = [];
  const readOffsets = new Map<number, number>();
  for (const { type, payload } of sftpPackets(recording.stdin)) {
    if (type !== READ && type !== WRITE) continue;
    const id = payload.readUInt32BE(0);
    const handleLength = payload.readUInt32BE(4);
    const offset = Number(payload.readBigUInt64BE(8 + handleLength));
    if (type === READ) readOffsets.set(id, offset);
    else writes.push({ offset, data: payload.subarray(8 + handleLength + 12, 8 + handleLength + 12 + payload.readUInt32BE(8 + handleLength + 8)) });
  }
  const reads: Array<{ offset: number; data: Buffer }> = [];
  for (const { type, payload } of sftpPackets(recording.stdout)) {
    if (type !== DATA) continue;
    const offset = readOffsets.get(payload.readUInt32BE(0));
    if (offset !== undefined) reads.push({ offset, data: payload.subarray(8, 8 + payload.readUInt32BE(4)) });
  }
  return { written: place(writes), read: place(reads) };
}
