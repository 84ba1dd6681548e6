import type { Writable } from 'node:stream';
import { openByteRecording, streamBytes } from '../recorder/byte-recording-reader.js';
import type { ByteStream } from '../recorder/byte-recording.js';
import type { ReplayEvent } from './asciicast-replay.js';

/**
 * The output (stdout and stderr, in the order they passed) of a byte recording as replay
 * events, decoded as UTF-8 per stream: for recordings already found printable.
 */
export async function* outputEvents(path: string): AsyncGenerator<ReplayEvent> {
  const recording = await openByteRecording(path);
  const decoders = { o: new TextDecoder(), e: new TextDecoder() };
  try {
    for await (const frame of recording.frames()) {
      if (frame.stream !== 'o' && frame.stream !== 'e') continue;
      const text = decoders[frame.stream].decode(frame.data!, { stream: true });
      if (text) yield [frame.micros / 1e6, 'o', text];
    }
  } finally {
    await recording.close();
  }
}

/** Writes one stream's bytes exactly, as they passed, honouring the output's backpressure. */
export async function writeStream(path: string, stream: ByteStream, out: Writable): Promise<number> {
  let written = 0;
  for await (const data of streamBytes(path, stream)) {
    written += data.length;
    if (!out.write(data)) await new Promise((resolve) => out.once('drain', resolve));
  }
  return written;
}
