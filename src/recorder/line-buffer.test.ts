import { describe, expect, it } from 'vitest';
import { LineBuffer } from './line-buffer.js';

describe('LineBuffer', () => {
  it('escapes every ASCII byte exactly as JSON.stringify does', () => {
    const all = Uint8Array.from({ length: 128 * 3 }, (_, i) => i % 128);
    const out = new LineBuffer();
    out.jsonStringOfAscii(all);
    expect(out.view().toString('latin1')).toBe(JSON.stringify(Buffer.from(all).toString('latin1')));
  });

  it('gets every position right: escapes at any place in a word, odd lengths, unaligned input', () => {
    const specials = [0x00, 0x0a, 0x0d, 0x1b, 0x1f, 0x22, 0x5c, 0x7f, 0x41, 0x20];
    const out = new LineBuffer();
    for (let length = 0; length < 40; length++) {
      for (let seed = 0; seed < 20; seed++) {
        const backing = new Uint8Array(length + 3);
        const bytes = backing.subarray(seed % 3, (seed % 3) + length);
        for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17) % 5 === 0 ? specials[(i + seed) % specials.length]! : 0x61 + ((i + seed) % 26);
        out.reset();
        out.jsonStringOfAscii(bytes);
        expect(out.view().toString('latin1')).toBe(JSON.stringify(Buffer.from(bytes).toString('latin1')));
      }
    }
  });

  it('grows past its first allocation and keeps what it holds', () => {
    const out = new LineBuffer();
    const lines = 'yes\n'.repeat(40_000);
    out.text('[0.000000, "o", ');
    out.jsonStringOfAscii(Buffer.from(lines));
    out.text(']\n');
    const parsed = JSON.parse(out.view().toString('utf8')) as unknown[];
    expect(parsed).toEqual([0, 'o', lines]);
    out.reset();
    out.text('é');
    expect(out.view().toString('utf8')).toBe('é');
  });
});
