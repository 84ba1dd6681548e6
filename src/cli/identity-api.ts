import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from './errors.js';
import { loadLogin } from './credentials.js';
import type { GatewayApi } from './gateway-api.js';
import { configFor } from './program-context.js';

/**
 * Where and as whom a command that acts as an identity calls the gateway: the token from
 * `CUSTOS_TOKEN` or `custos login`; the gateway from `--gateway`, `CUSTOS_GATEWAY`, the login,
 * or else the local config's web listener. Null without a token (the command then runs as
 * the OS user through the admin socket, which may list, show and revoke, never ask or approve).
 */
export function identityApi(command: Command): GatewayApi | null {
  const options = command.optsWithGlobals<{ gateway?: string }>();
  const stored = loadLogin();
  const token = process.env.CUSTOS_TOKEN || stored?.token;
  if (!token) return null;
  const explicit = options.gateway || process.env.CUSTOS_GATEWAY;
  if (explicit) return { url: explicit, token, ...caFor(explicit, stored?.gateway === explicit ? stored.ca : undefined, command) };
  if (stored) return { url: stored.gateway, token, ...(stored.ca ? { ca: stored.ca } : {}) };
  const url = localGateway(command);
  return { url, token, ...caFor(url, undefined, command) };
}

/** The local config's web listener as a URL (a wildcard bind address is reached on loopback). */
export function localGateway(command: Command): string {
  const config = configFor(command);
  if (!config.listen.web) throw new CliError('usage', 'no gateway URL: give --gateway URL (the local config has no web listener)');
  const address = config.listen.web.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  return `${config.web.tls ? 'https' : 'http'}://${address}`;
}

function caFor(url: string, stored: string | undefined, command: Command): { ca?: string } {
  if (stored) return { ca: stored };
  if (!url.startsWith('https:')) return {};
  try {
    const config = configFor(command);
    return existsSync(config.tls.ca) ? { ca: readFileSync(config.tls.ca, 'utf8') } : {};
  } catch {
    return {};
  }
}
