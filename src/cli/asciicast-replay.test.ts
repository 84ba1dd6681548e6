import { describe, expect, it } from 'vitest';
import { replay } from './asciicast-replay.js';

const cast = {
  header: { version: 2 as const, width: 80, height: 24, timestamp: 0, custos: {} as never },
  events: [
    [0.5, 'o', 'a'],
    [1.0, 'i', 'typed'],
    [1.5, 'o', 'b'],
    [31.5, 'r', '100x30'],
    [41.5, 'o', 'c'],
  ] as Array<[number, string, string]>,
  invalidLines: 0,
};

describe('replay', () => {
  it('writes output events with their delays, divided by the speed and capped when idle', async () => {
    const sleeps: number[] = [];
    let out = '';
    const result = await replay(cast, { speed: 2, idleLimit: 2, write: (t) => (out += t), sleep: async (ms) => void sleeps.push(ms) });
    expect(out).toBe('abc');
    // 0.5 s; then 0.5 + 0.5 s (the input event is not shown but its time passes); then
    // 30 s and 10 s, each capped to 2 s; all at twice the speed.
    expect(sleeps).toEqual([250, 500, 2000]);
    expect(result.events).toBe(3);
  });

  it('keeps long pauses when asked to', async () => {
    const sleeps: number[] = [];
    await replay(cast, { speed: 1, idleLimit: 0, write: () => undefined, sleep: async (ms) => void sleeps.push(ms) });
    expect(sleeps).toEqual([500, 1000, 40_000]);
  });
});
