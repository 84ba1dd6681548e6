import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/**
 * Upstream secrets are never stored: resources hold a reference, `env:NAME` or
 * `file:PATH`, resolved only at the moment a connection needs the value.
 */
export const SECRET_REF_PATTERN = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/;

export function isSecretRef(value: string): boolean {
  return SECRET_REF_PATTERN.test(value);
}

export async function resolveSecretRef(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name];
    if (value === undefined) throw new ConfigError('secret_missing', `secret ${ref}: environment variable ${name} is not set`);
    return value;
  }
  if (ref.startsWith('file:')) {
    const path = ref.slice(5);
    try {
      return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError('secret_unreadable', `secret ${ref}: cannot read the file (${code})`);
    }
  }
  throw new ConfigError('secret_ref_invalid', 'a secret must be given as env:NAME or file:PATH');
}
