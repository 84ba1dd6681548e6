import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

/** What `custos login` keeps: the gateway's web API, the identity's token, the CA to trust. */
export interface StoredLogin {
  gateway: string;
  identity: string;
  token: string;
  /** PEM of the CA that signed the gateway's certificate (https with a private CA). */
  ca?: string;
}

/** `$XDG_CONFIG_HOME/custos/credentials.json` (default `~/.config/custos/credentials.json`). */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'custos', 'credentials.json');
}

/** Written readable by its owner only (0600, in a 0700 directory): it holds a token. */
export function saveLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export function loadLogin(env: NodeJS.ProcessEnv = process.env): StoredLogin | null {
  const path = credentialsPath(env);
  if (!existsSync(path)) return null;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredLogin>;
    if (typeof parsed.gateway !== 'string' || typeof parsed.token !== 'string') throw new Error('gateway or token missing');
    return { gateway: parsed.gateway, token: parsed.token, identity: String(parsed.identity ?? ''), ...(parsed.ca ? { ca: parsed.ca } : {}) };
  } catch (err) {
    throw new CliError('usage', `${path} is not a custos login (${(err as Error).message}); run custos login again`);
  }
}
