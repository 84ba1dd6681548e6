import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 key derivation and proof checks (RFC 5802 / RFC 7677), the math shared by
 * the gateway as a SCRAM server (clients proving a token) and as a SCRAM client (logging in
 * upstream). Message framing belongs to the protocol that carries it.
 */
export const SCRAM_ITERATIONS = 4096;

export interface ScramKeys {
  storedKey: Buffer;
  serverKey: Buffer;
}

export function scramSalt(): Buffer {
  return randomBytes(16);
}

export function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
}

export function scramKeys(password: string, salt: Buffer, iterations: number = SCRAM_ITERATIONS): ScramKeys {
  const salted = saltedPassword(password, salt, iterations);
  const clientKey = hmac(salted, 'Client Key');
  return { storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** Server side: does `clientProof` prove knowledge of the password behind `storedKey`? */
export function verifyClientProof(storedKey: Buffer, authMessage: string, clientProof: Buffer): boolean {
  if (clientProof.length !== 32 || storedKey.length !== 32) return false;
  const clientSignature = hmac(storedKey, authMessage);
  const clientKey = xor(clientProof, clientSignature);
  return timingSafeEqual(sha256(clientKey), storedKey);
}

export function serverSignature(serverKey: Buffer, authMessage: string): Buffer {
  return hmac(serverKey, authMessage);
}

/** Client side: the proof to send and the server signature to expect back. */
export function clientProof(
  password: string,
  salt: Buffer,
  iterations: number,
  authMessage: string,
): { proof: Buffer; expectedServerSignature: Buffer } {
  return clientProofFromSalted(saltedPassword(password, salt, iterations), authMessage);
}

/** The same, from an already derived SaltedPassword (the expensive PBKDF2 step, cacheable). */
export function clientProofFromSalted(salted: Buffer, authMessage: string): { proof: Buffer; expectedServerSignature: Buffer } {
  const clientKey = hmac(salted, 'Client Key');
  const clientSignature = hmac(sha256(clientKey), authMessage);
  return { proof: xor(clientKey, clientSignature), expectedServerSignature: hmac(hmac(salted, 'Server Key'), authMessage) };
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
