import type { Command } from 'commander';
import { queryCsvHeader, queryCsvLine, queryJsonLine, type ExportableQuery } from '../../recorder/query-export.js';
import type { QueryVerifyResult } from '../../recorder/query-verify.js';
import { CliError } from '../errors.js';
import { alignedWriter, linesWriter, pageListing, type ListingWriter } from '../paged-listing.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { withCliOperations } from '../run-operation.js';
import { safeText } from '../safe-text.js';
import { shortTime } from '../table.js';

/** A captured statement as the admin operation returns it (dates as ISO strings). */
type QueryListing = ExportableQuery & { startedAt: string; params: unknown[] | null; details: Record<string, unknown> | null };

const PAGE = 2000;

export function registerQueries(program: Command): void {
  withConfigOption(program.command('queries'))
    .description('captured database statements, oldest first: who ran what, where, with which parameters, and how it ended')
    .option('--identity <name>', 'statements of this identity')
    .option('--session <id>', 'statements of one session')
    .option('--target <name>', 'statements on this target')
    .option('--since <when>', 'a duration back from now (24h) or a timestamp (default 24h; none with --session)')
    .option('--until <when>', 'a duration back from now or a timestamp')
    .option('--format <format>', 'table | jsonl | csv', 'table')
    .option('--limit <n>', 'stop after this many statements')
    .option('--verify', 'with --session: check the rows against the digest in the session end event (exit 1 if they differ)')
    .action(async (options: Record<string, string | boolean | undefined>, command: Command) => {
      const format = String(options.format);
      if (!['table', 'jsonl', 'csv'].includes(format)) throw new CliError('usage', `unknown format "${format}" (table, jsonl, csv)`);
      const config = configFor(command);
      if (options.verify) {
        if (!options.session) throw new CliError('usage', '--verify needs --session <id>');
        const result = (await withCliOperations(config, (run) => run('queries.verify', { session: options.session }))) as QueryVerifyResult;
        print(safeText`${result.ok ? 'query log intact' : 'query log MISMATCH'}: ${result.message}`);
        if (!result.ok) process.exitCode = 1;
        return;
      }
      const limit = options.limit === undefined ? Infinity : Number(options.limit);
      if (!(limit > 0)) throw new CliError('usage', '--limit must be a positive number');
      const filter = {
        identity: options.identity,
        session: options.session,
        target: options.target,
        since: options.since ?? (options.session ? undefined : '24h'),
        until: options.until,
      };
      const writer = format === 'csv' ? linesWriter(queryCsvHeader(), queryCsvLine) : format === 'jsonl' ? linesWriter(null, queryJsonLine) : tableWriter();
      const printed = await withCliOperations(config, (run) => pageListing<QueryListing>(run, 'queries.list', filter, limit, writer, PAGE));
      writer.end(printed);
    });
}

/** Aligned columns; widths are fixed by the first page so later pages line up. */
function tableWriter(): ListingWriter<QueryListing> {
  const headers = ['TIME', 'IDENTITY', 'TARGET', 'DB USER', 'SESSION', 'SEQ', 'STATUS', 'MS', 'ROWS', 'STATEMENT'];
  const cells = (row: QueryListing): string[] => [
    shortTime(row.startedAt),
    row.identityName,
    row.target,
    row.dbUser,
    row.sessionId,
    String(row.seq),
    row.status === 'error' || row.status === 'cancelled' ? `${row.status} ${row.sqlstate ?? ''}`.trim() : row.status,
    row.durationMs === null ? '-' : row.durationMs.toFixed(1),
    row.rowCount === null ? '-' : String(row.rowCount),
    statementSummary(row),
  ];
  return alignedWriter(headers, cells, 'no statements match');
}

function statementSummary(row: QueryListing): string {
  let text = row.statement.replace(/\s+/g, ' ').trim();
  if (text.length > 100) text = `${text.slice(0, 99)}…`;
  if (row.params && row.params.length > 0) {
    const values = (row.params as Array<{ value: string | null; format: string }>).map((p) =>
      p.value === null ? 'NULL' : p.format === 'binary' ? `<binary ${p.value.length}b64>` : JSON.stringify(p.value.length > 30 ? `${p.value.slice(0, 29)}…` : p.value),
    );
    text += ` [${values.join(', ')}]`;
  }
  if (row.errorMessage) text += ` -- ${row.errorMessage}`;
  return text;
}
