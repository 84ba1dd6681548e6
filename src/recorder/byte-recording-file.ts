import { AppendOnlyFile } from './append-only-file.js';
import { FRAME_HEADER_BYTES, headerBytes, writeFrameHeader, type ByteRecordingHeader, type FrameStream } from './byte-recording.js';
import type { RecordingBatch, RecordingFileWriter } from './recording-batch.js';
import type { ChannelExit } from './session-recorder.js';

/** One per thread: frame headers of one append (files are written one append at a time). */
let HEADERS = Buffer.allocUnsafe(64 * FRAME_HEADER_BYTES);

/**
 * A byte recording (byte-recording.ts) being written: each event becomes one frame, its
 * bytes written as they came (one writev of frame headers and payload views per batch).
 */
export class ByteRecordingFile implements RecordingFileWriter {
  private lastMicros = 0;

  private constructor(private readonly file: AppendOnlyFile) {}

  static create(path: string, header: ByteRecordingHeader): ByteRecordingFile {
    return new ByteRecordingFile(AppendOnlyFile.create(path, headerBytes(header)));
  }

  append(batch: RecordingBatch): void {
    if (HEADERS.length < batch.events.length * FRAME_HEADER_BYTES) HEADERS = Buffer.allocUnsafe(batch.events.length * 2 * FRAME_HEADER_BYTES);
    const parts: Uint8Array[] = [];
    let offset = 0;
    let at = 0;
    for (const event of batch.events) {
      let payload: Uint8Array;
      if (event.text !== undefined) payload = Buffer.from(event.text);
      else {
        payload = batch.data.subarray(offset, offset + event.length);
        offset += event.length;
      }
      // A channel without a terminal has no window to resize.
      if (event.code === 'r' || payload.length === 0) continue;
      this.frame(at, event.code, event.t, payload.length);
      parts.push(HEADERS.subarray(at, at + FRAME_HEADER_BYTES), payload);
      at += FRAME_HEADER_BYTES;
    }
    if (parts.length) this.file.writev(parts);
  }

  syncInBackground(): Promise<void> {
    return this.file.syncInBackground();
  }

  close(exit: ChannelExit | null, t: number): Promise<{ bytes: number; sha256: string }> {
    if (exit) {
      const payload = Buffer.from(JSON.stringify({ code: exit.code, signal: exit.signal }));
      this.frame(0, 'x', t, payload.length);
      this.file.writev([HEADERS.subarray(0, FRAME_HEADER_BYTES), payload]);
    }
    return this.file.close();
  }

  closeQuietly(): void {
    this.file.closeQuietly();
  }

  /** Times never go backwards in a file, whatever order the batches' clocks gave. */
  private frame(at: number, stream: FrameStream, t: number, length: number): void {
    this.lastMicros = Math.max(this.lastMicros, Math.round(t * 1e6));
    writeFrameHeader(HEADERS, at, stream, this.lastMicros, length);
  }
}
