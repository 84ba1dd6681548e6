import { describe, expect, it } from 'vitest';
import { clientProof, scramKeys, serverSignature, verifyClientProof } from './scram.js';

// RFC 7677 section 3: user "user", password "pencil".
const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const authMessage =
  'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
  'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';

describe('SCRAM-SHA-256', () => {
  it('computes the RFC 7677 client proof and server signature', () => {
    const { proof, expectedServerSignature } = clientProof('pencil', salt, 4096, authMessage);
    expect(proof.toString('base64')).toBe('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(expectedServerSignature.toString('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('verifies a proof from stored keys alone, and rejects a wrong password', () => {
    const keys = scramKeys('pencil', salt, 4096);
    const good = clientProof('pencil', salt, 4096, authMessage).proof;
    const bad = clientProof('crayon', salt, 4096, authMessage).proof;
    expect(verifyClientProof(keys.storedKey, authMessage, good)).toBe(true);
    expect(verifyClientProof(keys.storedKey, authMessage, bad)).toBe(false);
    expect(verifyClientProof(keys.storedKey, authMessage, Buffer.alloc(3))).toBe(false);
    expect(serverSignature(keys.serverKey, authMessage).toString('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});
