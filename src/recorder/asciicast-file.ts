import { AppendOnlyFile } from './append-only-file.js';
import { eventLine, eventLinePrefix, headerLine, type AsciicastHeader, type EventCode } from './asciicast.js';
import { LineBuffer } from './line-buffer.js';
import type { RecordingBatch, RecordingFileWriter } from './recording-batch.js';
import { describeExit, type ChannelExit } from './session-recorder.js';
import { Utf8Stream } from './utf8-split.js';

/** One per thread: files are written synchronously, one append at a time. */
const LINES = new LineBuffer();

/**
 * An asciicast v2 file (terminal channels): terminal bytes decoded as UTF-8 across chunk
 * boundaries and JSON-encoded into event lines; the exit status as the last marker.
 */
export class AsciicastFile implements RecordingFileWriter {
  private lastT = 0;
  private readonly streams = { o: new Utf8Stream(), i: new Utf8Stream() };

  private constructor(private readonly file: AppendOnlyFile) {}

  static create(path: string, header: AsciicastHeader): AsciicastFile {
    return new AsciicastFile(AppendOnlyFile.create(path, Buffer.from(headerLine(header))));
  }

  append(batch: RecordingBatch): void {
    const out = LINES;
    out.reset();
    let offset = 0;
    for (const event of batch.events) {
      // Asciicast has one output stream: stderr is terminal output too.
      const code: EventCode = event.code === 'e' ? 'o' : event.code;
      if (event.text !== undefined) {
        if (event.text === '') continue;
        this.lastT = Math.max(this.lastT, event.t);
        out.text(eventLine(this.lastT, code, event.text));
        continue;
      }
      const data = batch.data.subarray(offset, offset + event.length);
      offset += event.length;
      if (data.length === 0) continue;
      const stream = code === 'o' || code === 'i' ? this.streams[code] : null;
      if (stream?.isPlainAscii(data)) {
        this.lastT = Math.max(this.lastT, event.t);
        out.text(eventLinePrefix(this.lastT, code));
        out.jsonStringOfAscii(data);
        out.text(']\n');
        continue;
      }
      const text = stream ? stream.decode(data) : Buffer.from(data).toString('utf8');
      if (text === '') continue;
      this.lastT = Math.max(this.lastT, event.t);
      out.text(eventLine(this.lastT, code, text));
    }
    if (out.size > 0) this.file.write(out.view());
  }

  syncInBackground(): Promise<void> {
    return this.file.syncInBackground();
  }

  close(exit: ChannelExit | null, t: number): Promise<{ bytes: number; sha256: string }> {
    const rest: RecordingBatch = { data: new Uint8Array(0), events: [] };
    for (const code of ['o', 'i'] as const) {
      const text = this.streams[code].end();
      if (text) rest.events.push({ t: this.lastT, code, text });
    }
    if (exit) rest.events.push({ t: Math.max(this.lastT, t), code: 'm', text: describeExit(exit) });
    if (rest.events.length) this.append(rest);
    return this.file.close();
  }

  closeQuietly(): void {
    this.file.closeQuietly();
  }
}
