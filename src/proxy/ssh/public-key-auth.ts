import ssh2 from 'ssh2';

/**
 * Key types and signature algorithms accepted from operators: Ed25519, ECDSA (NIST P-256,
 * P-384, P-521) and RSA with SHA-2 signatures (rsa-sha2-256/512). SHA-1 RSA signatures
 * (`ssh-rsa`), DSA and certificates are refused.
 */
const ACCEPTED = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/** Why a key offered with this algorithm is refused, or null if it is acceptable. */
export function refusedKeyReason(algo: string, hashAlgo: string | undefined): string | null {
  if (!ACCEPTED.has(algo)) return `${algo} keys are not accepted (use ed25519, ecdsa or rsa)`;
  if (algo === 'ssh-rsa' && hashAlgo !== 'sha256' && hashAlgo !== 'sha512') {
    return 'RSA signatures with SHA-1 (ssh-rsa) are not accepted; use rsa-sha2-256 or rsa-sha2-512';
  }
  return null;
}

/** Whether `signature` over `blob` was made with the private half of `keyData`. */
export function signatureIsValid(keyData: Buffer, blob: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean {
  const parsed = ssh2.utils.parseKey(keyData);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return false;
  try {
    return key.verify(blob, signature, hashAlgo) === true;
  } catch {
    return false;
  }
}
