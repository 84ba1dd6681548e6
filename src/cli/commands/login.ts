import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { saveLogin } from '../credentials.js';
import { CliError } from '../errors.js';
import { callApi } from '../gateway-api.js';
import { localGateway } from '../identity-api.js';
import { print, withConfigOption } from '../program-context.js';

/** `custos login`: keep an identity's token for the commands that act as an identity (requests, approvals). */
export function registerLogin(program: Command): void {
  withConfigOption(program.command('login'))
    .description("store your identity's token for custos request … (read from CUSTOS_TOKEN or standard input; checked with the gateway first)")
    .option('--gateway <url>', "the gateway's web API, e.g. https://gw.example:8080 (default: the local config's web listener)")
    .option('--ca <file>', "a CA certificate to trust for the gateway's https certificate")
    .action(async (options: { gateway?: string; ca?: string }, command: Command) => {
      const gateway = options.gateway ?? localGateway(command);
      const token = (process.env.CUSTOS_TOKEN || (await readToken())).trim();
      if (!token) throw new CliError('usage', 'no token: set CUSTOS_TOKEN or pass the token on standard input');
      const ca = options.ca ? readFileSync(options.ca, 'utf8') : undefined;
      const me = await callApi<{ identity: { name: string; kind: string } }>({ url: gateway, token, ...(ca ? { ca } : {}) }, 'GET', 'api/me');
      const path = saveLogin({ gateway, identity: me.identity.name, token, ...(ca ? { ca } : {}) });
      print(`logged in to ${gateway} as ${me.identity.name} (${me.identity.kind}); token kept in ${path} (mode 0600)`);
    });
}

async function readToken(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('token (cus_…): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? '';
}
