import * as k8s from '@kubernetes/client-node';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeScenario, type KubeScenario } from '../helpers/kube-gateway.js';
import { waitFor } from '../helpers/wait.js';

/** A raw HTTPS request to the gateway (status, headers, body). */
function raw(s: KubeScenario, path: string, options: { method?: string; token?: string; headers?: Record<string, string | string[]> } = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, s.gatewayUrl),
      { method: options.method ?? 'GET', ca: s.caPem, headers: { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An upgrade request written by hand: the gateway's answer head and body. */
function rawUpgrade(s: KubeScenario, path: string, token: string, method: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(s.gatewayUrl);
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: s.caPem, servername: 'localhost' }, () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${url.host}`, `Authorization: Bearer ${token}`, 'Connection: Upgrade', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const status = (body: string) => JSON.parse(body.slice(body.indexOf('{'))) as { kind: string; code: number; reason: string; message: string };

describe('Kubernetes requests through the gateway', () => {
  let s: KubeScenario;
  let alice: string;
  let victor: string;
  let aliceToken: string;
  let victorToken: string;

  beforeAll(async () => {
    s = await startKubeScenario();
    s.api.create('v1', 'pods', { metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    aliceToken = await s.token('alice');
    victorToken = await s.token('victor');
    alice = await s.kubeconfig('alice', { token: aliceToken });
    victor = await s.kubeconfig('victor', { token: victorToken });
  });
  afterAll(async () => s?.stop());

  it('kubectl get, describe, apply and delete pass through, impersonating the user and groups the roles give', async () => {
    const got = await s.kubectl(alice, ['get', 'pods']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/^NAME\s+READY\s+STATUS/);
    expect(got.stdout).toContain('web-0');
    const described = await s.kubectl(alice, ['describe', 'pod', 'web-0']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/Name:\s+web-0/);

    const manifest = join(s.dir, 'cm.yaml');
    writeFileSync(manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  color: blue\n');
    const applied = await s.kubectl(alice, ['apply', '-f', manifest]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('configmap/settings created');
    writeFileSync(manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  color: green\n');
    const reapplied = await s.kubectl(alice, ['apply', '-f', manifest]);
    expect(reapplied.stdout).toContain('configmap/settings configured');
    expect((await s.kubectl(alice, ['get', 'configmap', 'settings', '-o', 'jsonpath={.data.color}'])).stdout).toBe('green');
    const deleted = await s.kubectl(alice, ['delete', 'configmap', 'settings']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('configmap "settings" deleted');

    // The cluster saw the gateway's own credentials, acting as the decision's user and groups.
    const upstream = s.api.requests.filter((request) => request.info.resource === 'configmaps');
    expect(upstream.length).toBeGreaterThan(3);
    for (const request of upstream) {
      expect(request.authenticatedUser?.name).toBe('admin');
      expect(request.impersonateUser).toBe('custos:alice');
      expect(request.impersonateGroups).toEqual(['system:masters']);
      expect(request.headers.authorization).toBe(`Bearer ${s.api.adminToken}`);
    }

    // Each request is a row: verb, resource, name and outcome, in alice's API session.
    await waitFor(async () => (await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', verb: 'delete' })).length === 1, { what: 'the delete row' });
    const rows = await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', resource: 'configmaps' });
    expect(rows.map((row) => row.verb)).toEqual(expect.arrayContaining(['get', 'create', 'patch', 'delete']));
    expect(rows.find((row) => row.verb === 'delete')).toMatchObject({
      target: 'k8s',
      namespace: 'default',
      name: 'settings',
      apiGroup: '',
      apiVersion: 'v1',
      decision: 'allowed',
      code: 200,
      kubeUser: 'custos:alice',
      kubeGroups: ['system:masters'],
      method: 'DELETE',
    });
    expect(new Set(rows.map((row) => row.sessionId)).size).toBe(1);
    const session = await s.tg.gateway.store.sessions.get(rows[0]!.sessionId);
    expect(session).toMatchObject({ protocol: 'kubernetes', state: 'live', identityName: 'alice', target: 'k8s', login: 'custos:alice', details: { kind: 'api' } });
  });

  it('@kubernetes/client-node lists and watches through the gateway unchanged', async () => {
    const config = new k8s.KubeConfig();
    config.loadFromFile(alice);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'default' });
    expect(pods.items.map((pod) => pod.metadata?.name)).toContain('web-0');
    const events: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void new k8s.Watch(config).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: pods.metadata?.resourceVersion, timeoutSeconds: 2 }, (type, object: k8s.V1ConfigMap) => events.push(`${type} ${object.metadata?.name}`), resolve);
    });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' }, data: { k: 'v' } } });
    expect(await ended).toBeNull();
    expect(events).toEqual(['ADDED watched']);
    const watch = await waitFor(async () => (await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', verb: 'watch' })).find((row) => row.code !== null));
    expect(watch).toMatchObject({ resource: 'configmaps', code: 200 });
    expect(watch.responseBytes).toBeGreaterThan(0);
  });

  it('refuses a client that sends its own Impersonate-* headers (403, audited) and never forwards them', async () => {
    const before = s.api.requests.length;
    // Discovery first (kubectl shows refused discovery requests as "unknown"), then the impersonating request.
    expect((await s.kubectl(alice, ['get', 'pods'])).code).toBe(0);
    const asAdmin = await s.kubectl(alice, ['get', 'pods', '--as', 'system:admin', '--as-group', 'system:masters']);
    expect(asAdmin.code).not.toBe(0);
    expect(asAdmin.stderr).toContain('Error from server (Forbidden)');
    expect(asAdmin.stderr).toMatch(/custos: alice is not allowed on target k8s: the client sent Impersonate-Group, Impersonate-User: the gateway chooses whom it acts as/);
    const groupOnly = await raw(s, '/k8s/k8s/api/v1/namespaces/default/pods', { token: aliceToken, headers: { 'Impersonate-Uid': 'x', 'Impersonate-Extra-Scopes': 'all' } });
    expect(groupOnly.status).toBe(403);
    expect(status(groupOnly.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    const frontProxy = await raw(s, '/k8s/k8s/api/v1/namespaces/default/pods', { token: aliceToken, headers: { 'X-Remote-User': 'system:admin' } });
    expect(frontProxy.status).toBe(403);
    expect(status(frontProxy.body).message).toContain('the client sent X-Remote-User');
    // Nothing with client impersonation reached the cluster.
    expect(s.api.requests.slice(before).some((request) => request.impersonateUser === 'system:admin' || request.headers['impersonate-uid'])).toBe(false);
    const denied = await waitFor(async () => {
      const events = await s.tg.gateway.store.audit.list({ type: 'access.deny', identity: 'alice' });
      return events.find((event) => String((event.data as { reason?: string }).reason).includes('Impersonate-Uid')) ? events : undefined;
    });
    expect(denied.length).toBeGreaterThanOrEqual(2);
    await waitFor(
      async () => (await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', decision: 'denied' })).some((row) => row.code === 403 && row.reason?.includes('Impersonate-User')),
      { what: 'the refused request in the request log' },
    );
  });

  it('answers 401 with a Status for a missing, unknown or revoked token, and writes auth.failure', async () => {
    const none = await raw(s, '/k8s/k8s/api/v1/namespaces/default/pods');
    expect(none.status).toBe(401);
    expect(status(none.body)).toMatchObject({ code: 401, reason: 'Unauthorized', message: expect.stringContaining('no bearer token') });
    const bad = await s.kubeconfig('alice', { token: 'cus_not-a-token' });
    const refused = await s.kubectl(bad, ['get', 'pods']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Unauthorized|must be logged in/);
    expect(refused.stderr).toContain('not a Custos identity token');

    const created = (await s.op('token.create', { identity: 'alice', ttl: '1h' })) as { id: string; token: string };
    const config = await s.kubeconfig('alice', { token: created.token });
    expect((await s.kubectl(config, ['get', 'pods'])).code).toBe(0);
    const session = await waitFor(async () => (await s.tg.gateway.store.sessions.list({ identity: 'alice', state: 'live' })).find((row) => row.credentialId === created.id));
    await s.op('token.revoke', { id: created.id, reason: 'test' });
    // The revocation ends the API session; the next request authenticates again and is refused.
    await waitFor(async () => (await s.tg.gateway.store.sessions.get(session.id))?.state === 'closed', { what: 'the API session to end' });
    expect((await s.tg.gateway.store.sessions.get(session.id))?.endReason).toBe(`access revoked: token ${created.id} was revoked`);
    const after = await raw(s, '/k8s/k8s/api/v1/namespaces/default/pods', { token: created.token });
    expect(after.status).toBe(401);
    expect(status(after.body).message).toContain(`token ${created.id} was revoked`);
    const failures = await s.tg.gateway.store.audit.list({ type: 'auth.failure' });
    expect(failures.some((event) => (event.data as { protocol?: string }).protocol === 'kubernetes')).toBe(true);
  });

  it('a read-only role reads, but cannot exec, attach, port-forward or delete: 403 whatever the method or upgrade', async () => {
    expect((await s.kubectl(victor, ['get', 'pods'])).code).toBe(0);
    for (const args of [
      ['exec', 'web-0', '--', 'true'],
      ['attach', 'web-0'],
      ['port-forward', 'web-0', '18080:80'],
      ['delete', 'pod', 'web-0'],
    ]) {
      const result = await s.kubectl(victor, args);
      expect(result.code, args.join(' ')).not.toBe(0);
      // kubectl prints the Status message; for port-forward without the reason.
      if (args[0] !== 'port-forward') expect(result.stderr, args.join(' ')).toMatch(/Forbidden|forbidden/);
      expect(result.stderr, args.join(' ')).toContain('custos: victor is not allowed on target k8s: no role of victor allows');
    }
    const exec = '/k8s/k8s/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true&tty=true';
    const websocket = await rawUpgrade(s, exec, victorToken, 'GET', {
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
    });
    expect(websocket).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(status(websocket)).toMatchObject({ code: 403, reason: 'Forbidden', message: expect.stringContaining('create pods/exec "web-0" in namespace "default"') });
    const spdy = await rawUpgrade(s, exec, victorToken, 'POST', { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
    expect(spdy).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    const plainGet = await raw(s, exec, { token: victorToken });
    expect(plainGet.status).toBe(403);
    // None of them reached the cluster.
    expect(s.api.requests.some((request) => request.impersonateUser === 'custos:victor' && ['exec', 'attach', 'portforward'].includes(request.info.subresource))).toBe(false);
    const rows = await waitFor(async () => {
      const found = await s.tg.gateway.store.kubeRequests.list({ identity: 'victor', decision: 'denied' });
      return found.length >= 6 ? found : undefined;
    });
    expect(rows.filter((row) => row.subresource === 'exec').every((row) => row.verb === 'create' && row.code === 403)).toBe(true);
    expect(rows.map((row) => row.subresource)).toEqual(expect.arrayContaining(['exec', 'attach', 'portforward']));
  });

  it('answers paths that name no target with a Status saying where clusters are', async () => {
    const answer = await raw(s, '/api/v1/namespaces', { token: aliceToken });
    expect(answer.status).toBe(404);
    expect(status(answer.body).message).toContain('/k8s/<target>/');
    const unknown = await raw(s, '/k8s/nope/api/v1/namespaces', { token: aliceToken });
    expect(unknown.status).toBe(404);
    expect(status(unknown.body).message).toContain('no target named "nope"');
    const mallory = await raw(s, '/k8s/k8s/api/v1/namespaces', { token: await s.token('mallory') });
    expect(mallory.status).toBe(403);
    expect(status(mallory.body).message).toBe('custos: mallory is not allowed on target k8s: no role of mallory grants access to target k8s');
  });

  it('streams a large list with bounded memory: a client that stops reading stops the gateway reading from the cluster', async () => {
    s.api.create('v1', 'namespaces', { metadata: { name: 'big' } });
    const blob = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 48; i++) s.api.create('v1', 'configmaps', { metadata: { name: `big-${i}`, namespace: 'big' }, data: { blob } } as never);
    const total = 48 * blob.length;
    const api = (await s.tg.gateway.store.sessions.list({ identity: 'alice', state: 'live' })).find((row) => (row.details as { kind?: string }).kind === 'api')!;
    const live = s.tg.gateway.lifecycle.get(api.id)!;
    live.takeProgress();
    const sent = () => (live.takeProgress()?.stats.bytesToClient as number | undefined) ?? null;
    let received = 0;
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpsRequest(new URL('/k8s/k8s/api/v1/namespaces/big/configmaps', s.gatewayUrl), { ca: s.caPem, headers: { Authorization: `Bearer ${aliceToken}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    response.pause();
    // Wait until the gateway stops taking bytes from the cluster (it has nowhere to put them).
    let last = -1;
    await waitFor(
      () => {
        const now = sent();
        const stalled = now === null && last >= 0;
        if (now !== null) last = now;
        return stalled;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the relay to stop while the client does not read' },
    );
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(total / 2);
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    response.resume();
    await new Promise((resolve) => response.on('end', resolve));
    const list = JSON.parse(Buffer.concat(chunks).toString()) as { items: unknown[] };
    expect(list.items).toHaveLength(48);
    expect(received).toBeGreaterThan(total);
  });
});
