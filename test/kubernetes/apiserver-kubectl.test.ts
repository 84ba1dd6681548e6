import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver/index.js';
import { kubectlPath, runKubectl } from '../helpers/kubectl.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// The test API server driven by real kubectl: what it accepts unchanged, and what it records.
describe('test Kubernetes API server with kubectl', () => {
  let server: KubeApiServer;
  let dir: ReturnType<typeof makeTempDir>;
  let kubeconfig: string;
  const kubectl = (args: string[], input?: string) => runKubectl(args, { kubeconfig, home: dir.path, ...(input !== undefined ? { input } : {}) });
  const requestsSince = (mark: number) => server.requests.slice(mark);

  beforeAll(async () => {
    server = await startKubeApiServer({ tokens: { 'viewer-token': { name: 'viewer', groups: ['viewers'] } } });
    dir = makeTempDir('kctl-');
    kubeconfig = server.writeKubeconfig({ token: server.adminToken });
    server.create('v1', 'pods', { metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });
  });
  afterAll(async () => {
    await server?.close();
    dir?.remove();
  });

  it('answers /version and aggregated discovery; kubectl lists the served resources', async () => {
    const version = await kubectl(['version', '-o', 'json']);
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).serverVersion).toMatchObject({ major: '1', minor: '32' });

    const mark = server.requests.length;
    const resources = await kubectl(['api-resources', '--no-headers']);
    expect(resources.code, resources.stderr).toBe(0);
    expect(resources.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(resources.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    const discovery = requestsSince(mark).find((request) => request.path === '/apis');
    expect(discovery?.headers.accept).toContain('as=APIGroupDiscoveryList');
  });

  it('refuses a wrong token with 401 and authenticates client certificates by CN and O', async () => {
    const bad = await runKubectl(['get', 'pods'], { kubeconfig: server.writeKubeconfig({ token: 'not-a-token' }), home: dir.path });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Unauthorized/);
    expect(server.requests.some((request) => request.status === 401 && request.authenticatedUser === undefined)).toBe(true);

    const certificate = await server.issueClientCertificate('carol', ['devs', 'oncall']);
    const mark = server.requests.length;
    const byCert = await runKubectl(['get', 'pods', '-o', 'name'], { kubeconfig: server.writeKubeconfig({ certificate }), home: dir.path });
    expect(byCert.code, byCert.stderr).toBe(0);
    expect(byCert.stdout.trim()).toBe('pod/web-0');
    expect(requestsSince(mark).at(-1)?.user).toEqual({ name: 'carol', groups: ['devs', 'oncall', 'system:authenticated'] });
  });

  it('serves tables to kubectl get and JSON objects with uid and resourceVersion', async () => {
    const table = await kubectl(['get', 'pods']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n^web-0\s+1\/1\s+Running\s+0\s+\d+s$/m);

    const wide = await kubectl(['get', 'pods', '-o', 'wide']);
    expect(wide.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE$/m);

    const json = JSON.parse((await kubectl(['get', 'pod', 'web-0', '-o', 'json'])).stdout);
    expect(json).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default' }, status: { phase: 'Running' } });
    expect(json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(json.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('describe reads the object and its events', async () => {
    const mark = server.requests.length;
    const described = await kubectl(['describe', 'pod', 'web-0']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/^Name:\s+web-0$/m);
    expect(described.stdout).toMatch(/^Status:\s+Running$/m);
    expect(requestsSince(mark).map((request) => `${request.info.verb} ${request.info.resource}`)).toEqual(expect.arrayContaining(['get pods', 'list events']));
  });

  it('apply creates, then patches with a strategic merge; server-side apply and delete work', async () => {
    const manifest = join(dir.path, 'app.yaml');
    const write = (value: string, image: string) =>
      writeFileSync(
        manifest,
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {mode: "${value}"}\n---\n` +
          `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers:\n      - {name: api, image: "${image}", ports: [{containerPort: 8080}]}\n      - {name: sidecar, image: "proxy:1"}\n`,
      );
    write('a', 'api:1');
    const created = await kubectl(['apply', '-f', manifest]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('configmap/settings created\ndeployment.apps/api created\n');

    write('b', 'api:2');
    const mark = server.requests.length;
    const configured = await kubectl(['apply', '-f', manifest]);
    expect(configured.code, configured.stderr).toBe(0);
    expect(configured.stdout).toBe('configmap/settings configured\ndeployment.apps/api configured\n');
    const patches = requestsSince(mark).filter((request) => request.method === 'PATCH');
    expect(patches.map((request) => request.headers['content-type'])).toEqual(['application/strategic-merge-patch+json', 'application/strategic-merge-patch+json']);
    const deployment = JSON.parse((await kubectl(['get', 'deployment', 'api', '-o', 'json'])).stdout);
    expect(deployment.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`)).toEqual(['api=api:2', 'sidecar=proxy:1']);
    expect(deployment.metadata.generation).toBe(2);
    expect((await kubectl(['get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}'])).stdout).toBe('b');

    const serverSide = await kubectl(['apply', '--server-side', '-f', manifest]);
    expect(serverSide.code, serverSide.stderr).toBe(0);
    expect(serverSide.stdout).toContain('configmap/settings serverside-applied');

    const deleted = await kubectl(['delete', '-f', manifest]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('configmap "settings" deleted\ndeployment.apps "api" deleted\n');
    const gone = await kubectl(['get', 'configmap', 'settings']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error from server (NotFound): configmaps "settings" not found');
  });

  it('get -w prints the list, then objects as they change', async () => {
    const child = spawn(kubectlPath(), ['get', 'pods', '-w'], { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, HOME: dir.path } });
    let output = '';
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pattern.test(output) && resolve();
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          check();
        });
        child.on('close', () => reject(new Error(`kubectl get -w ended; it printed:\n${output}`)));
        check();
      });
    try {
      await seen(/^web-0\s+1\/1\s+Running/m);
      const watchRequest = () => server.requests.find((request) => request.info.verb === 'watch' && request.info.resource === 'pods' && request.status === 200);
      const { waitFor } = await import('../helpers/wait.js');
      const started = await waitFor(watchRequest, { what: 'the watch request' });
      expect(started.query).toMatch(/resourceVersion=\d+/);
      server.create('v1', 'pods', { metadata: { name: 'watched-1', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'x' }] } });
      await seen(/^watched-1\s+1\/1\s+Running/m);
      expect(output.match(/^NAME/gm)).toHaveLength(1);
    } finally {
      child.kill();
    }
  });

  it('logs -f streams what the container writes until it ends', async () => {
    server.logs.append('default', 'web-0', 'app', 'first line\n');
    const following = kubectl(['logs', '-f', 'web-0']);
    const { waitFor } = await import('../helpers/wait.js');
    await waitFor(() => server.requests.find((request) => request.info.subresource === 'log' && request.query.includes('follow=true')), { what: 'the follow request' });
    server.logs.append('default', 'web-0', 'app', 'second line\n');
    server.logs.end('default', 'web-0', 'app');
    const result = await following;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('first line\nsecond line\n');
  });

  it('records impersonation headers and the user a request acts as', async () => {
    const mark = server.requests.length;
    const result = await kubectl(['get', 'pods', '-o', 'name', '--as', 'bob', '--as-group', 'devs', '--as-group', 'ops']);
    expect(result.code, result.stderr).toBe(0);
    const request = requestsSince(mark).find((entry) => entry.info.resource === 'pods')!;
    expect(request).toMatchObject({ impersonateUser: 'bob', impersonateGroups: ['devs', 'ops'], authenticatedUser: { name: 'admin' }, user: { name: 'bob', groups: ['devs', 'ops', 'system:authenticated'] } });
  });
});

describe('test Kubernetes API server refusals', () => {
  it('refuses impersonation by a user not allowed to and answers 403 from authorize', async () => {
    const server = await startKubeApiServer({
      tokens: { 'dev-token': { name: 'dev', groups: [] } },
      impersonators: ['admin'],
      authorize: (user, info) => user.name !== 'dev' || info.verb === 'get' || info.verb === 'list',
    });
    const dir = makeTempDir('kctl-');
    try {
      server.create('v1', 'pods', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
      const kubeconfig = server.writeKubeconfig({ token: 'dev-token' });
      const impersonating = await runKubectl(['get', 'pods', '--as', 'root'], { kubeconfig, home: dir.path });
      // kubectl's discovery prints a refused aggregated discovery as "unknown", against kube-apiserver too.
      expect(impersonating.code).toBe(1);
      expect(impersonating.stderr).toContain('Error from server (Forbidden)');
      expect(server.requests.filter((request) => request.impersonateUser === 'root').map((request) => request.status)).toContain(403);
      expect(server.requests.every((request) => request.impersonateUser !== 'root' || request.status === 403)).toBe(true);

      const deleting = await runKubectl(['delete', 'pod', 'p'], { kubeconfig, home: dir.path });
      expect(deleting.code).toBe(1);
      expect(deleting.stderr).toContain('Error from server (Forbidden): pods "p" is forbidden: User "dev" cannot delete resource "pods" in API group "" in the namespace "default"');
      expect((await runKubectl(['get', 'pods', '-o', 'name'], { kubeconfig, home: dir.path })).stdout.trim()).toBe('pod/p');
    } finally {
      await server.close();
      dir.remove();
    }
  });
});
