import { describe, expect, it } from 'vitest';
import { canonicalJson, toStorableJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives equal strings for equal values whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: 'two' })).toBe(canonicalJson({ y: 'two', x: 1 }));
  });

  it('refuses non-finite numbers', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });
});

describe('toStorableJson', () => {
  it('replaces NUL and lone surrogates, which PostgreSQL jsonb refuses', () => {
    expect(toStorableJson({ s: 'a\u0000b', t: 'x\ud800y', ok: '😀' })).toEqual({ s: 'a\uFFFDb', t: 'x\uFFFDy', ok: '😀' });
  });

  it('turns dates, bigints and buffers into JSON values', () => {
    expect(toStorableJson({ d: new Date('2026-01-02T03:04:05.006Z'), n: 12n, big: 2n ** 70n, b: Buffer.from('hi') })).toEqual({
      d: '2026-01-02T03:04:05.006Z',
      n: 12,
      big: '1180591620717411303424',
      b: 'aGk=',
    });
  });
});
