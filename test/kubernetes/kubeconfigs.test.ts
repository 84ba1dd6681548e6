import * as k8s from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGatewayKubeconfig } from '../../src/proxy/kubernetes/kubeconfig-writer.js';
import { loadKubeUpstream, upstreamTlsOptions, type KubeUpstream } from '../../src/proxy/kubernetes/upstream-config.js';
import { makeCertificateAuthority } from '../helpers/kube-apiserver/certs.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver/index.js';
import { runKubectl } from '../helpers/kubectl.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// The kubeconfig the gateway will print, read by kubectl and client-node; and a target's
// kubeconfig loaded into TLS options that really reach an API server.
describe('kubeconfigs', () => {
  let server: KubeApiServer;
  let dir: ReturnType<typeof makeTempDir>;

  beforeAll(async () => {
    server = await startKubeApiServer({ tokens: { 'cus_identity_token': { name: 'alice', groups: [] } } });
    dir = makeTempDir('kcfg-');
  });
  afterAll(async () => {
    await server?.close();
    dir?.remove();
  });

  it('kubectl and client-node accept the gateway kubeconfig; kubectl sends the token to /k8s/<target>, trusting the gateway CA', async () => {
    const path = join(dir.path, 'custos.kubeconfig');
    writeFileSync(path, buildGatewayKubeconfig({ gatewayUrl: server.url, caPem: server.caPem, identity: 'alice', token: 'cus_identity_token', targets: ['prod', 'staging'] }));

    const contexts = await runKubectl(['config', 'get-contexts', '-o', 'name'], { kubeconfig: path, home: dir.path });
    expect(contexts.stdout).toBe('custos-prod\ncustos-staging\n');
    const view = JSON.parse((await runKubectl(['config', 'view', '--minify', '--raw', '-o', 'json', '--context', 'custos-staging'], { kubeconfig: path, home: dir.path })).stdout);
    expect(view.clusters[0].cluster.server).toBe(`${server.url}/k8s/staging`);
    expect(Buffer.from(view.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(server.caPem);
    expect(view.users[0].user.token).toBe('cus_identity_token');

    // Merged with an operator's own kubeconfig, as the README suggests.
    const own = server.writeKubeconfig({ token: server.adminToken }, join(dir.path, 'own.kubeconfig'));
    const merged = await runKubectl(['config', 'get-contexts', '-o', 'name'], { kubeconfig: `${own}:${path}`, home: dir.path });
    expect(merged.stdout.split('\n').filter(Boolean).sort()).toEqual(['custos-prod', 'custos-staging', 'test']);

    const mark = server.requests.length;
    // The test API server serves no /k8s/ prefix: the 404 proves kubectl reached it there, over TLS it verified with the CA.
    const version = await runKubectl(['version', '-o', 'json'], { kubeconfig: path, home: dir.path });
    const request = server.requests.slice(mark).find((entry) => entry.path === '/k8s/prod/version' && entry.query === 'timeout=32s');
    expect(request, `${version.stderr}\n${server.requests.slice(mark).map((entry) => entry.path).join(' ')}`).toMatchObject({ path: '/k8s/prod/version', authenticatedUser: { name: 'alice' } });
    expect(request?.headers.authorization).toBe('Bearer cus_identity_token');

    const config = new k8s.KubeConfig();
    config.loadFromFile(path);
    expect(config.getCurrentCluster()?.server).toBe(`${server.url}/k8s/prod`);
    expect(config.getCurrentUser()?.token).toBe('cus_identity_token');
    expect(config.getContexts().map((context) => context.name)).toEqual(['custos-prod', 'custos-staging']);
  });

  const getVersion = (upstream: KubeUpstream) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const agent = new Agent(upstreamTlsOptions(upstream));
      get(`${upstream.server}/version`, { agent, headers: upstream.token ? { Authorization: `Bearer ${upstream.token}` } : {} }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });

  it('a target kubeconfig with a token or a client certificate becomes TLS options that reach the API server', async () => {
    const byToken = await loadKubeUpstream('cluster', `file:${server.writeKubeconfig({ token: server.adminToken })}`);
    expect(await getVersion(byToken)).toMatchObject({ status: 200, body: expect.stringContaining('"minor":"32"') });
    expect(server.requests.at(-1)?.user?.name).toBe('admin');

    const certificate = await server.issueClientCertificate('custos-gateway', ['gateways']);
    const byCertificate = await loadKubeUpstream('cluster', 'env:GATEWAY_KUBECONFIG', { GATEWAY_KUBECONFIG: readFileSync(server.writeKubeconfig({ certificate }), 'utf8') });
    expect(await getVersion(byCertificate)).toMatchObject({ status: 200 });
    expect(server.requests.at(-1)?.user).toEqual({ name: 'custos-gateway', groups: ['gateways', 'system:authenticated'] });

    const otherCa = await makeCertificateAuthority('not-the-cluster-ca');
    await expect(getVersion({ ...byToken, ca: Buffer.from(otherCa.certPem) })).rejects.toThrow(/certificate/);
  });
});
