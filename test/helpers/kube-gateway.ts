import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOperation } from '../../src/admin/operations.js';
import { buildGatewayKubeconfig } from '../../src/proxy/kubernetes/kubeconfig-writer.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './kube-apiserver/index.js';
import { runKubectl, type KubectlResult } from './kubectl.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dir.js';

export interface KubeScenario {
  api: KubeApiServer;
  tg: TestGateway;
  /** https://127.0.0.1:<port> of the gateway's Kubernetes listener. */
  gatewayUrl: string;
  /** The gateway CA (PEM). */
  caPem: string;
  dir: string;
  token(identity: string, ttl?: string): Promise<string>;
  /** A kubeconfig for `identity` through the gateway (a fresh token unless one is given); returns its path. */
  kubeconfig(identity: string, options?: { token?: string; targets?: string[]; ttl?: string }): Promise<string>;
  /** Real kubectl with a kubeconfig file, HOME in the scenario's dir (no discovery cache shared with other tests). */
  kubectl(kubeconfig: string, args: string[], input?: string | Buffer): Promise<KubectlResult>;
  op(name: string, args: Record<string, unknown>): Promise<unknown>;
  apply(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The test API server behind an in-process gateway with the Kubernetes front end on a fixed
 * free port (so `custos kubeconfig` prints its address), and a target `k8s` whose kubeconfig
 * gives the gateway the API server's admin token. Identities:
 * - alice (human), role `kube-admin`: group system:masters, portForwarding, no kubeRules;
 * - victor (human), role `kube-view`: group view, kubeRules get/list/watch everything;
 * - brief (human), role `kube-brief`: group system:masters, maxSessionTTL `briefTTL` (default 3s);
 * - mallory (human): no roles.
 */
export async function startKubeScenario(options: { settings?: Record<string, unknown>; briefTTL?: string; api?: KubeApiServerOptions } = {}): Promise<KubeScenario> {
  const temp = makeTempDir('kgw-');
  const api = await startKubeApiServer({ execCwd: temp.path, ...options.api });
  const port = await freePort();
  const tg = await startTestGateway({
    settings: { ...options.settings, listen: { kubernetes: `127.0.0.1:${port}`, ...(options.settings?.listen as object | undefined) } },
  });
  const upstreamKubeconfig = api.writeKubeconfig({ token: api.adminToken }, join(temp.path, 'upstream.kubeconfig'));
  const op = (name: string, args: Record<string, unknown>) => runOperation({ store: tg.gateway.store, actor: 'test', config: tg.config }, name, args);
  const apply = async (yaml: string) => {
    await op('apply', { files: [{ source: 'test.yaml', text: yaml }] });
  };
  await apply(`
kind: target
name: k8s
spec:
  protocol: kubernetes
  address: 127.0.0.1:${api.port}
  kubeconfig: file:${upstreamKubeconfig}
  labels: { env: test }
---
kind: role
name: kube-admin
spec:
  targets: { protocol: kubernetes }
  kubeGroups: [system:masters]
  portForwarding: true
  recordInput: true
---
kind: role
name: kube-view
spec:
  targets: { protocol: kubernetes }
  kubeGroups: [view]
  kubeRules:
    - { verbs: [get, list, watch], resources: ["*"], namespaces: ["*"] }
---
kind: role
name: kube-brief
spec:
  targets: { protocol: kubernetes }
  kubeGroups: [system:masters]
  maxSessionTTL: ${options.briefTTL ?? '3s'}
---
kind: identity
name: alice
spec: { kind: human, roles: [kube-admin] }
---
kind: identity
name: victor
spec: { kind: human, roles: [kube-view] }
---
kind: identity
name: brief
spec: { kind: human, roles: [kube-brief] }
---
kind: identity
name: mallory
spec: { kind: human }
`);
  const caPem = readFileSync(tg.config.tls.ca, 'utf8');
  const gatewayUrl = `https://127.0.0.1:${port}`;
  const token = async (identity: string, ttl = '1h') => ((await op('token.create', { identity, ttl })) as { token: string }).token;
  let files = 0;
  return {
    api,
    tg,
    gatewayUrl,
    caPem,
    dir: temp.path,
    token,
    async kubeconfig(identity, kubeconfigOptions = {}) {
      const text = buildGatewayKubeconfig({
        gatewayUrl,
        caPem,
        identity,
        token: kubeconfigOptions.token ?? (await token(identity, kubeconfigOptions.ttl)),
        targets: kubeconfigOptions.targets ?? ['k8s'],
        namespace: 'default',
      });
      const path = join(temp.path, `${identity}-${++files}.kubeconfig`);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    },
    kubectl: (kubeconfig, args, input) => runKubectl(args, { kubeconfig, home: temp.path, ...(input !== undefined ? { input } : {}) }),
    op,
    apply,
    stop: async () => {
      await tg.stop();
      await api.close();
      temp.remove();
    },
  };
}
