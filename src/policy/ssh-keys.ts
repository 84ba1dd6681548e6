import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';

export interface ParsedPublicKey {
  algorithm: string;
  /** OpenSSH style: `SHA256:` + unpadded base64 of the key blob's sha256. */
  fingerprint: string;
  /** `algorithm base64` without the comment. */
  line: string;
  comment: string | null;
}

/** Parses an OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export function parsePublicKeyLine(line: string): ParsedPublicKey {
  const parsed = ssh2.utils.parseKey(line.trim());
  if (parsed instanceof Error) throw new Error(`not an OpenSSH public key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.isPrivateKey()) throw new Error('expected a public key, got a private key');
  const blob = key.getPublicSSH();
  return {
    algorithm: key.type,
    fingerprint: sshFingerprint(blob),
    line: `${key.type} ${blob.toString('base64')}`,
    comment: line.trim().split(/\s+/).slice(2).join(' ') || null,
  };
}

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
