import { expect, it } from 'vitest';
import { SlidingWindowLimiter } from './rate-limiter.js';

it('allows `limit` events per window per key, then says how long to wait', () => {
  const limiter = new SlidingWindowLimiter(3, 1000);
  for (const t of [0, 100, 200]) {
    expect(limiter.retryAfterMs('a', t)).toBe(0);
    limiter.record('a', t);
  }
  expect(limiter.retryAfterMs('a', 300)).toBe(700);
  expect(limiter.retryAfterMs('b', 300)).toBe(0);
  expect(limiter.retryAfterMs('a', 999)).toBe(1);
  expect(limiter.retryAfterMs('a', 1000)).toBe(0);
  limiter.record('a', 1500);
  limiter.reset('a');
  expect(limiter.retryAfterMs('a', 1500)).toBe(0);
});

it('keeps at most maxKeys keys', () => {
  const limiter = new SlidingWindowLimiter(1, 60_000, 2);
  limiter.record('a', 0);
  limiter.record('b', 0);
  limiter.record('c', 0);
  expect(limiter.retryAfterMs('a', 1)).toBe(0);
  expect(limiter.retryAfterMs('c', 1)).toBeGreaterThan(0);
});
