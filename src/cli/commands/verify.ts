import type { Command } from 'commander';
import { parseCheckpoint } from '../../recorder/chain-checkpoints.js';
import { CliError } from '../errors.js';
import { checkEvidence } from '../evidence-check.js';
import { verifyBundleFile } from '../bundle-verify.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { safeText } from '../safe-text.js';

export function registerVerify(program: Command): void {
  withConfigOption(program.command('verify'))
    .description(
      'check the evidence: the audit chain, every recording against the digest sealed in its session.end, every query log and Kubernetes request log; exit 1 naming what does not match',
    )
    .option('--chain-only', 'only the audit chain and the expected heads (the fast check)')
    .option('--expect-head <seq:hash>', 'a head kept outside the store (printed by every verify): the chain must still hold it; repeatable', collect, [])
    .option('--bundle <file>', 'verify an evidence bundle (custos export) offline: no store, no gateway')
    .action(async (options: { chainOnly?: boolean; expectHead: string[]; bundle?: string }, command: Command) => {
      const expectHeads = options.expectHead.map((text) => {
        try {
          return parseCheckpoint(text, '--expect-head');
        } catch (err) {
          throw new CliError('usage', (err as Error).message);
        }
      });
      if (options.bundle) {
        const result = await verifyBundleFile(options.bundle, { expectHeads });
        for (const line of result.lines) print(safeText`${line}`);
        if (!result.ok) {
          print(safeText`bundle verification FAILED: ${result.problem!}`);
          process.exitCode = 1;
        }
        return;
      }
      const report = await checkEvidence(configFor(command), { chainOnly: options.chainOnly === true, expectHeads });
      const { chain } = report;
      const head = chain.head ? `head seq ${chain.head.seq} hash ${chain.head.hash}` : 'no events';
      if (chain.fault) {
        print(safeText`audit chain BROKEN at event ${chain.fault.seq}: ${chain.fault.message}`);
        print(safeText`${chain.checked} events before it verify (${chain.head ? `up to seq ${chain.head.seq}, hash ${chain.head.hash}` : 'none'})`);
      } else {
        print(safeText`audit chain intact: ${chain.checked} events, ${head}`);
      }
      for (const checkpoint of chain.checkpoints) if (checkpoint.ok) print(safeText`expected head ${checkpoint.message}`);
      if (report.recordings) print(`recordings: ${report.recordings.checked} checked against their sealed digests (${report.recordings.sessions} sessions)`);
      if (report.queries) {
        print(
          `query logs: ${report.queries.sessions} sessions checked against their sealed digests (${report.queries.statements} statements)` +
            (report.queries.unsealed ? `; ${report.queries.unsealed} interrupted database sessions have no sealed digest` : ''),
        );
      }
      if (report.kubeRequests) print(`Kubernetes request logs: ${report.kubeRequests.sessions} sessions checked against their sealed digests (${report.kubeRequests.requests} requests)`);
      for (const problem of report.problems) print(safeText`${problem}`);
      if (report.problems.length > 0) {
        print(`verification FAILED: ${report.problems.length} ${report.problems.length === 1 ? 'problem' : 'problems'}`);
        process.exitCode = 1;
      } else {
        print(options.chainOnly ? 'verified: the audit chain (recordings and query logs not checked: --chain-only)' : 'verified: the audit chain, every sealed recording, query log and Kubernetes request log');
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
