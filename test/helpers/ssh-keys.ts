import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_SSH_CLIENT, requireBinary } from './binaries.js';

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  publicLine: string;
}

/** Makes an OpenSSH key pair with ssh-keygen (ed25519 unless said otherwise). */
export function makeKeyPair(dir: string, name: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): KeyPair {
  const keygen = requireBinary('ssh-keygen', INSTALL_SSH_CLIENT);
  const privatePath = join(dir, name);
  const bits = type === 'rsa' ? ['-b', '3072'] : type === 'ecdsa' ? ['-b', '256'] : [];
  const result = spawnSync(keygen, ['-q', '-t', type, ...bits, '-N', '', '-C', `${name}@custos-test`, '-f', privatePath], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  const publicPath = `${privatePath}.pub`;
  return { privatePath, publicPath, publicLine: readFileSync(publicPath, 'utf8').trim() };
}
