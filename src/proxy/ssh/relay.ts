import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

export interface Tap {
  /** Sees each chunk before it is forwarded; false asks to stop reading for a while. */
  chunk(data: Buffer): boolean;
  /** Resolves when the tap can take more. */
  writable(): Promise<void>;
}

/**
 * Forwards `from` into `to` chunk by chunk, showing each chunk to the tap first (evidence
 * is enqueued before the bytes it describes are forwarded). Reading from `from` pauses while
 * `to` or the tap is full — SSH flow control then stops the sender — and resumes when both
 * have room. `isStopped` is checked per chunk: a stopped relay forwards nothing more.
 */
export function relay(from: Readable, to: Writable, tap: Tap | null, isStopped: () => boolean = () => false): void {
  let waiting = false;
  from.on('data', (data: Buffer) => {
    if (isStopped()) return;
    const tapHasRoom = tap ? tap.chunk(data) : true;
    const toHasRoom = to.write(data);
    if ((tapHasRoom && toHasRoom) || waiting) return;
    waiting = true;
    from.pause();
    void Promise.all([toHasRoom ? null : drained(to), tapHasRoom ? null : tap!.writable()]).then(() => {
      waiting = false;
      from.resume();
    });
  });
}

/** Resolves on 'drain', or when the stream can no longer drain (closed, errored, finished). */
export function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableFinished || !stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error', 'finish']) stream.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error', 'finish']) stream.once(event, done);
  });
}

/**
 * Resolves once everything written to `stream` so far has been handed to the transport, or
 * once `closes` (the channel the stream belongs to) closes: ssh2 never calls back a write
 * made just before its channel closed.
 */
export function flushed(stream: Writable, closes: EventEmitter = stream, timeoutMs = 10_000): Promise<void> {
  if (stream.destroyed || stream.writableEnded || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      closes.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    closes.once('close', done);
    stream.write(Buffer.alloc(0), done);
  });
}
