import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { formatTable, shortTime } from '../table.js';


/** `custos bots ls`: the non-human identity inventory. */
export function registerBots(program: Command): void {
  const bots = program.command('bots').description('bots: non-human identities, each with an accountable human owner');
  withConfigOption(bots.command('ls'))
    .description('every bot: owner, roles, tokens with age and last use, open requests, last session')
    .option('--format <format>', 'table | json', 'table')
    .action(async (options: { format: string }, command: Command) => {
      if (options.format !== 'table' && options.format !== 'json') throw new CliError('usage', `unknown format "${options.format}" (table, json)`);
      const items = (await runCliOperation(configFor(command), 'bots.list', {})) as BotWire[];
      if (options.format === 'json') return print(items.map((item) => JSON.stringify(item)).join('\n'));
      const now = Date.now();
      const age = (iso: string) => {
        const hours = (now - Date.parse(iso)) / 3_600_000;
        return hours < 48 ? `${Math.max(0, Math.round(hours))}h` : `${Math.round(hours / 24)}d`;
      };
      print(
        formatTable(
          ['BOT', 'OWNER', 'ROLES', 'TOKENS (AGE, LAST USED)', 'OPEN REQUESTS', 'LAST SESSION'],
          items.map((bot) => [
            bot.name,
            bot.ownerPresent ? bot.owner : `${bot.owner ?? '-'} (MISSING: access refused)`,
            bot.roles.join(','),
            bot.tokens.length
              ? bot.tokens.map((t) => `${t.id} (${age(t.createdAt)}, ${t.lastUsedAt ? `used ${shortTime(t.lastUsedAt)}` : 'never used'}${t.requestId ? `, ${t.requestId}` : ''})`).join('; ')
              : 'none',
            bot.openRequests.length ? bot.openRequests.map((r) => `${r.id} ${r.state} ${r.target}${r.ticket ? ` ${r.ticket}` : ''}`).join('; ') : null,
            bot.lastSession ? `${shortTime(bot.lastSession.startedAt)} ${bot.lastSession.target}` : 'never',
          ]),
        ),
      );
    });
}

/** The inventory as the admin operation returns it (dates as ISO strings). */
interface BotWire {
  name: string;
  owner: string | null;
  ownerPresent: boolean;
  roles: string[];
  tokens: Array<{ id: string; createdAt: string; expiresAt: string | null; lastUsedAt: string | null; requestId: string | null }>;
  openRequests: Array<{ id: string; state: string; target: string; ticket: string | null; until: string | null }>;
  lastSession: { id: string; startedAt: string; target: string } | null;
}
