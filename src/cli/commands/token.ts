import type { Command } from 'commander';
import type { TokenListing } from '../../store/repositories/tokens.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { safeText } from '../safe-text.js';
import { formatTable, shortTime } from '../table.js';

type Listing = { [K in keyof TokenListing]: TokenListing[K] extends Date | null ? string | null : TokenListing[K] };

export function registerToken(program: Command): void {
  const token = program.command('token').description('identity tokens (PostgreSQL passwords, web sign-in, Kubernetes bearer)');

  withConfigOption(token.command('create'))
    .description('create a token for an identity and print it (it is shown only this once)')
    .argument('<identity>')
    .option('--ttl <duration>', 'lifetime, e.g. 8h, 30d, or "never"', '8h')
    .option('--reason <text>', 'why: recorded in the audit log')
    .option('--request <id>', "an approved request for this identity (a bot's): the token works only while its grant lasts")
    .action(async (identity: string, options: { ttl: string; reason?: string; request?: string }, command: Command) => {
      const created = (await runCliOperation(configFor(command), 'token.create', { identity, ttl: options.ttl, reason: options.reason, request: options.request })) as {
        id: string;
        token: string;
        expiresAt: string | null;
      };
      print(created.token);
      process.stderr.write(safeText`token ${created.id} for ${identity}, expires ${created.expiresAt ?? 'never'}` + '\n');
    });

  withConfigOption(token.command('ls'))
    .description('list tokens (not their values)')
    .option('--identity <name>', 'only this identity')
    .option('--all', 'include revoked and expired tokens')
    .option('--format <format>', 'table | json', 'table')
    .action(async (options: { identity?: string; all?: boolean; format: string }, command: Command) => {
      const tokens = (await runCliOperation(configFor(command), 'token.list', { identity: options.identity, all: options.all === true })) as Listing[];
      if (options.format === 'json') return print(JSON.stringify(tokens, null, 2));
      const now = Date.now();
      const state = (t: Listing) => (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= now ? 'expired' : 'active');
      print(
        formatTable(
          ['ID', 'IDENTITY', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'CREATED BY'],
          tokens.map((t) => [t.id, t.identityName, state(t), shortTime(t.createdAt), t.expiresAt ? shortTime(t.expiresAt) : 'never', shortTime(t.lastUsedAt), t.createdBy]),
        ),
      );
    });

  withConfigOption(token.command('revoke'))
    .description('revoke a token at once')
    .argument('<id>')
    .option('--reason <text>', 'why: recorded in the audit log')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      await runCliOperation(configFor(command), 'token.revoke', { id, reason: options.reason });
      print(safeText`token ${id} revoked`);
    });
}
