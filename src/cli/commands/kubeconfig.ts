import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { GatewayConfig } from '../../core/config.js';
import { parseHostPort } from '../../core/listener.js';
import { buildGatewayKubeconfig } from '../../proxy/kubernetes/kubeconfig-writer.js';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { withCliOperations } from '../run-operation.js';

export function registerKubeconfig(program: Command): void {
  withConfigOption(program.command('kubeconfig'))
    .description('print a kubeconfig that reaches Kubernetes targets through the gateway, with a new token of the identity')
    .argument('<identity>')
    .requiredOption('--target <names>', 'the Kubernetes target(s), comma-separated; the first is the current context')
    .option('--ttl <duration>', 'lifetime of the token in it, e.g. 8h, 30d, or "never"', '8h')
    .option('--namespace <name>', 'default namespace of every context')
    .option('--reason <text>', 'why: recorded with the token in the audit log')
    .action(async (identity: string, options: { target: string; ttl: string; namespace?: string; reason?: string }, command: Command) => {
      const config = configFor(command);
      const targets = options.target.split(',').map((name) => name.trim()).filter(Boolean);
      if (targets.length === 0) throw new CliError('usage', '--target needs at least one target name');
      const gatewayUrl = publicUrl(config);
      let caPem: string;
      try {
        caPem = await readFile(config.tls.ca, 'utf8');
      } catch (error) {
        throw new Error(`cannot read the gateway CA ${config.tls.ca} (tls.ca): ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
      }
      const created = await withCliOperations(config, async (run) => {
        for (const name of targets) {
          const [target] = (await run('get', { kind: 'target', name })) as Array<{ spec: { protocol: string } }>;
          if (target?.spec.protocol !== 'kubernetes') throw new CliError('usage', `target ${name} is a ${target?.spec.protocol ?? 'unknown'} target, not kubernetes`);
        }
        return (await run('token.create', { identity, ttl: options.ttl, reason: options.reason ?? `custos kubeconfig --target ${targets.join(',')}` })) as {
          id: string;
          token: string;
          expiresAt: string | null;
        };
      });
      print(buildGatewayKubeconfig({ gatewayUrl, caPem, identity, token: created.token, targets, ...(options.namespace ? { namespace: options.namespace } : {}) }));
      process.stderr.write(`kubeconfig for ${identity} at ${gatewayUrl} (${targets.join(', ')}); token ${created.id}, expires ${created.expiresAt ?? 'never'}\n`);
    });
}

/** The Kubernetes listener as clients reach it: `kubernetes.publicUrl`, else https://<listen.kubernetes>. */
function publicUrl(config: GatewayConfig): string {
  if (config.kubernetes.publicUrl) return config.kubernetes.publicUrl;
  if (!config.listen.kubernetes) throw new CliError('usage', 'listen.kubernetes is off: set kubernetes.publicUrl to the address clients reach the gateway at');
  const { host, port } = parseHostPort(config.listen.kubernetes);
  if (host === '0.0.0.0' || host === '::' || port === 0) {
    throw new CliError('usage', `listen.kubernetes (${config.listen.kubernetes}) is not an address clients can use: set kubernetes.publicUrl (e.g. https://gw.example.com:${port || 8443})`);
  }
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
