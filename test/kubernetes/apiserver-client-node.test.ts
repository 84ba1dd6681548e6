import * as k8s from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver/index.js';
import { waitFor } from '../helpers/wait.js';

// @kubernetes/client-node 1.4 against the test API server: list, watch and exec.
describe('test Kubernetes API server with @kubernetes/client-node', () => {
  let server: KubeApiServer;
  let config: k8s.KubeConfig;

  beforeAll(async () => {
    server = await startKubeApiServer();
    config = new k8s.KubeConfig();
    config.loadFromFile(server.writeKubeconfig({ certificate: await server.issueClientCertificate('node-client', ['bots']) }));
    server.create('v1', 'pods', { metadata: { name: 'app-0', namespace: 'default', labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists with selectors and pages with limit/continue', async () => {
    const core = config.makeApiClient(k8s.CoreV1Api);
    for (const name of ['app-1', 'other-0']) {
      await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name, labels: { app: name.startsWith('app') ? 'a' : 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    }
    const selected = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=a' });
    expect(selected.items.map((pod) => pod.metadata?.name)).toEqual(['app-0', 'app-1']);
    expect(selected.items.every((pod) => pod.metadata?.uid && pod.metadata.resourceVersion)).toBe(true);

    const first = await core.listNamespacedPod({ namespace: 'default', limit: 2 });
    expect(first.items).toHaveLength(2);
    const rest = await core.listNamespacedPod({ namespace: 'default', limit: 2, _continue: first.metadata?._continue });
    expect([...first.items, ...rest.items].map((pod) => pod.metadata?.name)).toEqual(['app-0', 'app-1', 'other-0']);
    expect(rest.metadata?._continue).toBeUndefined();
    expect(server.requests.at(-1)?.user?.name).toBe('node-client');
  });

  it('watches from a resourceVersion: the changes after it, in order, until timeoutSeconds ends it', async () => {
    const core = config.makeApiClient(k8s.CoreV1Api);
    const configMaps = await core.listNamespacedConfigMap({ namespace: 'default' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before-watch' }, data: { k: '1' } } });
    const events: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void new k8s.Watch(config).watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: configMaps.metadata?.resourceVersion, timeoutSeconds: 2 },
        (type, object: k8s.V1ConfigMap) => events.push(`${type} ${object.metadata?.name} ${JSON.stringify(object.data ?? {})}`),
        resolve,
      );
    });
    await waitFor(() => events.length === 1, { what: 'the replayed ADDED event' });
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'before-watch', body: { data: { k: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'before-watch' });
    expect(await ended).toBeNull();
    expect(events).toEqual(['ADDED before-watch {"k":"1"}', 'MODIFIED before-watch {"k":"2"}', 'DELETED before-watch {"k":"2"}']);
    const watch = server.requests.find((request) => request.info.verb === 'watch' && request.info.resource === 'configmaps');
    expect(watch?.query).toContain('timeoutSeconds=2');
  });

  it('execs over WebSocket and reports the exit status', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const status = await new Promise<k8s.V1Status>((resolve, reject) => {
      new k8s.Exec(config).exec('default', 'app-0', 'c', ['sh', '-c', 'echo hello; echo warn >&2; exit 4'], stdout, stderr, null, false, resolve).catch(reject);
    });
    expect(status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '4' }] } });
    await waitFor(() => out === 'hello\n' && err === 'warn\n', { what: 'the exec output' });
    const request = server.requests.find((entry) => entry.info.subresource === 'exec')!;
    expect(request.headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io,v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io');
    expect(request.websocketProtocol).toBe('v5.channel.k8s.io');
  });
});
