import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from './generated-keys.js';

describe('generateEd25519KeyPair', () => {
  it('gives pairs that ssh2 reads back, also where its own generator gives one that it cannot (about 1 in 256)', () => {
    // 3000 draws meet a public key starting with 0x00 with probability 1 - (255/256)^3000 > 99.99%.
    const unreadable = [];
    for (let i = 0; i < 3000; i++) {
      const pair = generateEd25519KeyPair();
      if (ssh2.utils.parseKey(pair.private) instanceof Error || ssh2.utils.parseKey(pair.public) instanceof Error) unreadable.push(pair.public);
    }
    expect(unreadable).toEqual([]);
  });
});
