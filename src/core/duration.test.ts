import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['8h', 8 * 3_600_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['45s', 45_000],
    ['7d', 7 * 86_400_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'h', '8', '8x', 'eight hours', '1h 30m', '-1h'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });

  it('formats what it parses', () => {
    expect(formatDuration(parseDuration('1d2h3m4s'))).toBe('1d2h3m4s');
    expect(formatDuration(0)).toBe('0s');
  });
});
