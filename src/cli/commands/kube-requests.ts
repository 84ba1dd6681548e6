import type { Command } from 'commander';
import { kubeRequestCsvHeader, kubeRequestCsvLine, kubeRequestJsonLine, type ExportableKubeRequest } from '../../recorder/kube-request-export.js';
import { CliError } from '../errors.js';
import { alignedWriter, linesWriter, pageListing, type ListingWriter } from '../paged-listing.js';
import { configFor, withConfigOption } from '../program-context.js';
import { withCliOperations } from '../run-operation.js';
import { shortTime } from '../table.js';

/** A request as the admin operation returns it (dates as ISO strings). */
type KubeRequestListing = ExportableKubeRequest & { startedAt: string };

export function registerKubeRequests(program: Command): void {
  withConfigOption(program.command('kube-requests'))
    .description('Kubernetes API requests through the gateway, oldest first: who did what to which resource, as whom, and how it ended')
    .option('--identity <name>', 'requests of this identity')
    .option('--session <id>', 'requests of one session')
    .option('--target <name>', 'requests to this target')
    .option('--verb <verb>', 'get, list, watch, create, update, patch, delete …')
    .option('--resource <resource>', 'pods (with its subresources) or pods/exec (only that subresource)')
    .option('--namespace <name>', 'requests in this namespace')
    .option('--decision <decision>', 'allowed | denied')
    .option('--since <when>', 'a duration back from now (24h) or a timestamp (default 24h; none with --session)')
    .option('--until <when>', 'a duration back from now or a timestamp')
    .option('--format <format>', 'table | jsonl | csv', 'table')
    .option('--limit <n>', 'stop after this many requests')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      const format = String(options.format);
      if (!['table', 'jsonl', 'csv'].includes(format)) throw new CliError('usage', `unknown format "${format}" (table, jsonl, csv)`);
      if (options.decision && !['allowed', 'denied'].includes(options.decision)) throw new CliError('usage', '--decision is allowed or denied');
      const limit = options.limit === undefined ? Infinity : Number(options.limit);
      if (!(limit > 0)) throw new CliError('usage', '--limit must be a positive number');
      const filter = {
        identity: options.identity,
        session: options.session,
        target: options.target,
        verb: options.verb,
        resource: options.resource,
        namespace: options.namespace,
        decision: options.decision,
        since: options.since ?? (options.session ? undefined : '24h'),
        until: options.until,
      };
      const writer =
        format === 'csv' ? linesWriter(kubeRequestCsvHeader(), kubeRequestCsvLine) : format === 'jsonl' ? linesWriter(null, kubeRequestJsonLine) : tableWriter();
      const printed = await withCliOperations(configFor(command), (run) => pageListing<KubeRequestListing>(run, 'kube-requests.list', filter, limit, writer));
      writer.end(printed);
    });
}

function tableWriter(): ListingWriter<KubeRequestListing> {
  const headers = ['TIME', 'IDENTITY', 'TARGET', 'SESSION', 'VERB', 'RESOURCE', 'NAMESPACE', 'NAME', 'CODE', 'MS', 'BYTES', 'AS / WHY'];
  const cells = (row: KubeRequestListing): string[] => [
    shortTime(row.startedAt),
    row.identityName,
    row.target,
    row.sessionId,
    row.verb,
    row.resource ? `${row.resource}${row.subresource ? `/${row.subresource}` : ''}` : row.path.split('?')[0]!,
    row.namespace || '-',
    row.name || '-',
    row.code === null ? 'running' : String(row.code),
    row.durationMs === null ? '-' : row.durationMs.toFixed(1),
    String((row.requestBytes ?? 0) + (row.responseBytes ?? 0)),
    row.decision === 'denied' ? `denied: ${row.reason ?? ''}` : `${row.kubeUser ?? '-'}${row.reason ? ` (${row.reason})` : ''}`,
  ];
  return alignedWriter(headers, cells, 'no requests match');
}
