import { describe, expect, it } from 'vitest';
import { completeUtf8Length, Utf8Stream } from './utf8-split.js';

const SAMPLES = {
  mixed: 'ascii, é ü ß, 中文字符, emoji 🎉👩‍💻, box ┌─┐, end',
  fourByte: '𝄞𝄞𝄞🎉🎉',
  invalid: Buffer.from([0x61, 0xe2, 0x82, 0x62, 0xff, 0xc3, 0x28, 0xf0, 0x9f, 0x98, 0x63, 0xed, 0xa0, 0x80, 0x64]),
};

function decodeInPieces(bytes: Buffer, cuts: number[]): string {
  const stream = new Utf8Stream();
  let out = '';
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out += stream.decode(bytes.subarray(from, cut));
    from = cut;
  }
  return out + stream.end();
}

describe('completeUtf8Length', () => {
  it('holds back only an incomplete trailing character', () => {
    const euro = Buffer.from('a€'); // 61 e2 82 ac
    expect(completeUtf8Length(euro)).toBe(4);
    expect(completeUtf8Length(euro.subarray(0, 3))).toBe(1);
    expect(completeUtf8Length(euro.subarray(0, 2))).toBe(1);
    expect(completeUtf8Length(euro.subarray(0, 1))).toBe(1);
    expect(completeUtf8Length(Buffer.from('🎉').subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
  });
});

describe('Utf8Stream', () => {
  for (const [name, sample] of Object.entries(SAMPLES)) {
    const bytes = typeof sample === 'string' ? Buffer.from(sample) : sample;
    const whole = bytes.toString('utf8');

    it(`decodes ${name} text split at every byte exactly like a whole-buffer decode`, () => {
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(decodeInPieces(bytes, [cut])).toBe(whole);
      }
    });

    it(`decodes ${name} text fed one byte at a time`, () => {
      expect(decodeInPieces(bytes, [...bytes.keys()].slice(1))).toBe(whole);
    });
  }

  it('never emits a replacement character for valid text, whatever the split', () => {
    const bytes = Buffer.from(SAMPLES.mixed);
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        expect(decodeInPieces(bytes, [a, b])).not.toContain('\ufffd');
      }
    }
  });

  it('flushes a dangling lead byte as a replacement character at the end', () => {
    const stream = new Utf8Stream();
    expect(stream.decode(Buffer.from([0x61, 0xe2, 0x82]))).toBe('a');
    expect(stream.end()).toBe('\ufffd');
  });
});
