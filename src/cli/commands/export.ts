import type { Command } from 'commander';
import { exportBundle } from '../bundle-export.js';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { safeText } from '../safe-text.js';

export function registerExport(program: Command): void {
  withConfigOption(program.command('export'))
    .description('write an evidence bundle for an auditor: story, sessions, statements, Kubernetes requests, audit events, the chain to its head, every recording, a manifest of sha256 digests')
    .option('--identity <name>', 'one identity')
    .option('--all', 'every identity')
    .requiredOption('--since <when>', 'a duration back from now (7d) or a timestamp; sessions overlapping the window count, whole')
    .option('--until <when>', 'a duration back from now or a timestamp (default: now)')
    .requiredOption('-o, --output <file>', 'the bundle to write (.tar.gz)')
    .action(async (options: { identity?: string; all?: boolean; since: string; until?: string; output: string }, command: Command) => {
      if (Boolean(options.identity) === Boolean(options.all)) throw new CliError('usage', 'give exactly one of --identity NAME and --all');
      const manifest = await exportBundle(configFor(command), { identity: options.identity ?? null, since: options.since, ...(options.until ? { until: options.until } : {}) }, options.output);
      const { counts, chain } = manifest;
      print(
        safeText`wrote ${options.output}: ${counts.story_entries} story entries, ${counts.sessions} sessions, ${counts.recordings} recordings, ${counts.statements} statements, ${counts.kube_requests} Kubernetes requests, ${counts.audit_events} audit events (chain segment of ${counts.chain_events})`,
      );
      if (chain) print(safeText`head: seq ${chain.head.seq} hash ${chain.head.hash}`);
      print(safeText`check it with: custos verify --bundle ${options.output}`);
    });
}
