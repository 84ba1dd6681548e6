import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { AUTH_TYPES } from './frontend-messages.js';
import { FrontendParser, FrontendProtocolError } from './frontend-parser.js';
import { frontendStream, plain, seededRandom } from '../../../../test/helpers/pg-protocol-streams.js';

const MAX = 1 << 20;

function parseAll(chunks: Buffer[], options: { maxMessageBytes?: number } = {}): { messages: unknown[]; error: string | null } {
  const parser = new FrontendParser({ maxMessageBytes: options.maxMessageBytes ?? MAX });
  const messages: unknown[] = [];
  try {
    for (const chunk of chunks) parser.parse(chunk, (message) => messages.push(plain(message)));
    return { messages, error: null };
  } catch (err) {
    if (!(err instanceof FrontendProtocolError)) throw err;
    return { messages, error: `${err.code}: ${err.message}` };
  }
}

describe('FrontendParser', () => {
  const { bytes, expected } = frontendStream();

  it('decodes every session message type pg-protocol can serialize', () => {
    expect(parseAll([bytes])).toEqual({ messages: expected, error: null });
  });

  it('gives the same messages when the stream is split at every byte', () => {
    for (let split = 1; split < bytes.length; split++) {
      expect(parseAll([bytes.subarray(0, split), bytes.subarray(split)])).toEqual({ messages: expected, error: null });
    }
  });

  it('gives the same messages when the stream arrives one byte at a time', () => {
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(parseAll(chunks)).toEqual({ messages: expected, error: null });
  });

  it('does not keep copies of chunk bytes it can decode in place', () => {
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    const query = serialize.query('select 1');
    let seen: Buffer | null = null;
    parser.parse(query, (message) => {
      if (message.name === 'query') seen = message.text;
    });
    expect(seen!.buffer).toBe(query.buffer);
  });

  it('skips CopyData bodies without buffering them', () => {
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    const data = serialize.copyData(Buffer.alloc(500_000, 7));
    const lengths: number[] = [];
    for (let offset = 0; offset < data.length; offset += 1000) {
      parser.parse(data.subarray(offset, offset + 1000), (message) => {
        if (message.name === 'copyData') lengths.push(message.length);
      });
      expect(parser.bufferedBytes).toBeLessThan(5);
    }
    expect(lengths).toEqual([500_000]);
    expect(parser.atBoundary).toBe(true);
  });

  it('holds only the bytes received for a message that declares a large length', () => {
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    const header = Buffer.from([0x51, 0, 0x0f, 0x42, 0x44]); // Query declaring ~1 MB
    parser.parse(Buffer.concat([header, Buffer.from('select')]), () => undefined);
    expect(parser.bufferedBytes).toBe(6);
  });

  it('refuses a message larger than maxMessageBytes at its header', () => {
    const result = parseAll([serialize.query('x'.repeat(5000))], { maxMessageBytes: 4096 });
    expect(result.error).toMatch(/^too_large: message of 5001 bytes is larger than the gateway accepts \(4096 bytes\)/);
  });

  it('refuses unknown message types, lengths below 4 and bodies on bodiless messages', () => {
    expect(parseAll([Buffer.from([0x7a, 0, 0, 0, 4])]).error).toMatch(/^unknown_type: invalid frontend message type 'z'/);
    expect(parseAll([Buffer.from([0x51, 0, 0, 0, 3])]).error).toMatch(/^malformed: invalid message length 3/);
    expect(parseAll([Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])]).error).toMatch(/^malformed: invalid message length -1/);
    expect(parseAll([Buffer.from([0x53, 0, 0, 0, 5, 0])]).error).toMatch(/^malformed: invalid message length 5 for message type 'S'/);
  });

  it('refuses a password message once the session runs, and session messages while authenticating', () => {
    expect(parseAll([serialize.password('x')]).error).toMatch(/^unknown_type: invalid frontend message type 'p'/);
    const parser = new FrontendParser({ maxMessageBytes: MAX, allowed: AUTH_TYPES });
    expect(() => parser.parse(serialize.query('select 1'), () => undefined)).toThrow(/invalid frontend message type 'Q'/);
  });

  it('refuses bodies that do not match their declared contents', () => {
    const bind = serialize.bind({ values: ['a', 'b'] });
    const truncated = Buffer.from(bind.subarray(0, bind.length - 3));
    truncated.writeInt32BE(truncated.length - 1, 1);
    expect(parseAll([truncated]).error).toMatch(/^malformed: /);
    const extra = Buffer.concat([serialize.query('select 1'), Buffer.from([0x41])]);
    extra.writeInt32BE(extra.length - 1, 1);
    expect(parseAll([extra]).error).toMatch(/^malformed: 1 unexpected bytes at the end of the message/);
    const badTarget = Buffer.from([0x44, 0, 0, 0, 6, 0x58, 0]);
    expect(parseAll([badTarget]).error).toMatch(/^malformed: invalid describe target 88/);
  });

  it('stays failed after a violation', () => {
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    expect(() => parser.parse(Buffer.from([0x7a, 0, 0, 0, 4]), () => undefined)).toThrow(FrontendProtocolError);
    expect(() => parser.parse(serialize.sync(), () => undefined)).toThrow(FrontendProtocolError);
  });
});

describe('FrontendParser fuzzing', () => {
  const { bytes } = frontendStream();

  /** Whole or in random pieces, the outcome must be the same, and only protocol errors may escape. */
  function checkConsistent(input: Buffer, random: () => number): void {
    const whole = parseAll([input], { maxMessageBytes: 4096 });
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < input.length; ) {
      const size = 1 + Math.floor(random() * 40);
      chunks.push(input.subarray(offset, offset + size));
      offset += size;
    }
    const pieces = parseAll(chunks, { maxMessageBytes: 4096 });
    expect(pieces).toEqual(whole);
  }

  it('survives random bytes', () => {
    const random = seededRandom(1);
    for (let round = 0; round < 2000; round++) {
      const input = Buffer.alloc(1 + Math.floor(random() * 200));
      for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
      // Start most inputs with a valid type byte so the fuzzing gets past the first header.
      if (random() < 0.8) input[0] = 'QPBEDCSHXdcfF'.charCodeAt(Math.floor(random() * 13));
      checkConsistent(input, random);
    }
  });

  it('survives mutated valid streams (flipped, inserted and deleted bytes, changed lengths)', () => {
    const random = seededRandom(2);
    for (let round = 0; round < 3000; round++) {
      let input = Buffer.from(bytes);
      const mutations = 1 + Math.floor(random() * 4);
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(random() * input.length);
        const kind = random();
        if (kind < 0.4) input[at] = Math.floor(random() * 256);
        else if (kind < 0.6) input = Buffer.concat([input.subarray(0, at), Buffer.from([Math.floor(random() * 256)]), input.subarray(at)]);
        else if (kind < 0.8) input = Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
        else if (at + 4 <= input.length) input.writeInt32BE(Math.floor(random() * 0x7fffffff) - 0x1000, at);
      }
      checkConsistent(input, random);
    }
  });
});

describe('FrontendParser stopping', () => {
  it('stops right after a message the callback refuses, and says where it began', () => {
    const first = serialize.query('select 1');
    const second = serialize.sync();
    const third = serialize.flush();
    const chunk = Buffer.concat([first, second, third]);
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    const seen: string[] = [];
    const end = parser.parse(chunk, (message) => {
      seen.push(message.name);
      return message.name !== 'sync';
    });
    expect(seen).toEqual(['query', 'sync']);
    expect(end).toBe(first.length + second.length);
    expect(parser.messageStart).toBe(first.length);
    expect(parser.parse(chunk.subarray(end), (message) => void seen.push(message.name))).toBe(third.length);
    expect(seen).toEqual(['query', 'sync', 'flush']);
  });

  it('reports -1 as the start of a message that began in an earlier chunk', () => {
    const query = serialize.query('select 1');
    const parser = new FrontendParser({ maxMessageBytes: MAX });
    parser.parse(query.subarray(0, 3), () => undefined);
    parser.parse(query.subarray(3), () => false);
    expect(parser.messageStart).toBe(-1);
  });
});
