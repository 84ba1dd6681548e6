import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { ClientCapture } from './client-capture.js';
import type { FrontendMessage } from './protocol/frontend-messages.js';
import { FrontendParser } from './protocol/frontend-parser.js';

const before = Buffer.concat([serialize.parse({ name: 's', text: 'select 1' }), serialize.sync()]);
const held = serialize.bind({ statement: 's', values: ['x'.repeat(40)] });
const after = Buffer.concat([serialize.execute(), serialize.sync()]);
const stream = Buffer.concat([before, held, after]);

/** A capture that takes every message but holds the first Bind until `allow` is set. */
function setup() {
  const state = { allow: false, captured: [] as string[] };
  const capture = new ClientCapture(new FrontendParser({ maxMessageBytes: 1 << 20 }), (message: FrontendMessage) => {
    if (message.name === 'bind' && !state.allow) return false;
    state.captured.push(message.name);
    return true;
  });
  return { capture, state };
}

describe('ClientCapture', () => {
  it('releases nothing of a held message until it is captured, and everything in order after, wherever the stream is split', () => {
    for (let split = 1; split < stream.length; split++) {
      const { capture, state } = setup();
      const out: Buffer[] = [...capture.take(stream.subarray(0, split)), ...capture.take(stream.subarray(split))];
      const released = Buffer.concat(out);
      // What went upstream ends before the end of the held message: the server cannot act on it.
      expect(released.length).toBeLessThan(before.length + held.length);
      expect(released.length).toBeGreaterThanOrEqual(before.length);
      expect(stream.subarray(0, released.length).equals(released)).toBe(true);
      expect(capture.holding).toBe(true);
      expect(capture.upstreamAtBoundary).toBe(released.length === before.length);
      expect(state.captured).toEqual(['parse', 'sync']);
      expect(capture.retry()).toEqual([]);
      state.allow = true;
      const rest = Buffer.concat(capture.retry());
      expect(Buffer.concat([released, rest]).equals(stream)).toBe(true);
      expect(state.captured).toEqual(['parse', 'sync', 'bind', 'execute', 'sync']);
      expect(capture.holding).toBe(false);
      expect(capture.upstreamAtBoundary).toBe(true);
    }
  });

  it('passes chunks through untouched when nothing is held', () => {
    const { capture, state } = setup();
    state.allow = true;
    const [out] = capture.take(stream);
    expect(out).toBe(stream);
  });
});
