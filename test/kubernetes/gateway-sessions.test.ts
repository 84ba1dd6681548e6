import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { startKubeScenario, type KubeScenario } from '../helpers/kube-gateway.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { spawnInPty } from '../helpers/pty.js';
import { waitFor } from '../helpers/wait.js';

interface Background {
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}

/** kubectl running in the background (a watch, a followed log), its output as it comes. */
function background(s: KubeScenario, kubeconfig: string, args: string[]): Background {
  const child = spawn(kubectlPath(), args, { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, HOME: s.dir } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { output: () => output, exited: new Promise((resolve) => child.on('close', resolve)), kill: () => child.kill() };
}

/**
 * What ends Kubernetes sessions from outside: maxSessionTTL, `sessions kill`, a revoked
 * token, narrowed kubeRules, an idle API session, and a request log that cannot be written.
 */
describe('ending Kubernetes sessions and the requests they hold', () => {
  let s: KubeScenario;
  let alice: string;
  const store = () => s.tg.gateway.store;
  const apiSessionOf = (identity: string) =>
    waitFor(async () => (await store().sessions.list({ identity, state: 'live' })).find((row) => (row.details as { kind?: string }).kind === 'api'), {
      what: `the live API session of ${identity}`,
    });

  beforeAll(async () => {
    s = await startKubeScenario({ briefTTL: '4s', settings: { kubernetes: { apiSessionIdle: '3s' }, shutdown: { grace: '2s' } } });
    s.api.create('v1', 'pods', { metadata: { name: 'web-0', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx', command: ['sh'] }] } });
    await s.apply(`
kind: role
name: watchers
spec:
  targets: { protocol: kubernetes }
  kubeGroups: [view]
  kubeRules:
    - { verbs: [get, list, watch], resources: [pods, configmaps], namespaces: ["*"] }
---
kind: identity
name: wanda
spec: { kind: human, roles: [watchers] }
`);
    alice = await s.kubeconfig('alice');
    expect((await s.kubectl(alice, ['get', 'pods'])).code).toBe(0);
  });
  afterAll(async () => s?.stop());

  it('get -w streams until the session reaches its maxSessionTTL, then ends with a Status', async () => {
    const brief = await s.kubeconfig('brief');
    const watch = background(s, brief, ['get', 'pods', '-w']);
    await waitFor(() => watch.output().includes('web-0'), { what: 'the watch to list the pod' });
    s.api.create('v1', 'pods', { metadata: { name: 'web-1', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    await waitFor(() => watch.output().includes('web-1'), { what: 'the watch to stream the new pod' });
    await watch.exited;
    expect(watch.output()).toContain('the session reached its maximum lifetime (maxSessionTTL of role kube-brief');
    const session = await waitFor(async () => (await store().sessions.list({ identity: 'brief', state: 'closed' }))[0]);
    expect(session.endReason).toBe('the session reached its maximum lifetime (maxSessionTTL of role kube-brief)');
    const row = await waitFor(async () => (await store().kubeRequests.list({ sessionId: session.id, verb: 'watch' })).find((entry) => entry.code !== null), {
      what: 'the watch row to be completed',
    });
    expect(row).toMatchObject({ resource: 'pods', code: 200, reason: session.endReason });
  });

  it('logs -f streams until `sessions kill` ends its API session', async () => {
    s.api.logs.append('default', 'web-0', 'app', 'first line\n');
    const logs = background(s, alice, ['logs', '-f', 'web-0']);
    await waitFor(() => logs.output().includes('first line'), { what: 'the first log line' });
    s.api.logs.append('default', 'web-0', 'app', 'second line\n');
    await waitFor(() => logs.output().includes('second line'), { what: 'the streamed log line' });
    const session = await apiSessionOf('alice');
    const killed = await s.tg.cli(['sessions', 'kill', session.id, '--reason', 'incident 4711']);
    expect(killed.code, killed.stderr).toBe(0);
    expect(await logs.exited).toBe(0);
    const ended = await store().sessions.get(session.id);
    expect(ended).toMatchObject({ state: 'closed', endReason: expect.stringMatching(/^ended by os:\S+: incident 4711$/) });
    const row = await waitFor(async () => (await store().kubeRequests.list({ sessionId: session.id, resource: 'pods/log' })).find((entry) => entry.reason !== null));
    expect(row).toMatchObject({ code: 200, reason: ended!.endReason });
    // The next request opens a new session: a kill ends a session, not the access.
    expect((await s.kubectl(alice, ['get', 'pods'])).code).toBe(0);
  });

  it('an exec -it shell ends on `sessions kill` with the reason on the terminal', async () => {
    const terminal = spawnInPty(kubectlPath(), ['exec', '-it', 'web-0', '--', 'sh'], { env: { PATH: process.env.PATH, KUBECONFIG: alice, HOME: s.dir } });
    await terminal.waitFor(/[$#] $/);
    const exec = await waitFor(async () => (await store().sessions.list({ identity: 'alice', state: 'live' })).find((row) => (row.details as { kind?: string }).kind === 'exec'));
    const killed = await s.tg.cli(['sessions', 'kill', exec.id, '--reason', 'shell closed by security']);
    expect(killed.code, killed.stderr).toBe(0);
    await terminal.waitFor(/custos: session ended by os:\S+: shell closed by security/);
    expect((await terminal.exited).exitCode).not.toBe(0);
    const ended = await waitFor(async () => {
      const row = await store().sessions.get(exec.id);
      return row?.state === 'closed' ? row : undefined;
    });
    expect(ended.endReason).toMatch(/^ended by os:\S+: shell closed by security$/);
    expect(ended.recordingSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('narrowing kubeRules ends a running watch they no longer allow (access.revoked), the session goes on', async () => {
    s.api.create('v1', 'configmaps', { metadata: { name: 'watched', namespace: 'default' }, data: { k: 'v' } } as never);
    const wanda = await s.kubeconfig('wanda');
    const watch = background(s, wanda, ['get', 'configmaps', '-w']);
    await waitFor(() => watch.output().includes('watched'), { what: 'the watch to start' });
    const session = await apiSessionOf('wanda');
    await s.apply(`
kind: role
name: watchers
spec:
  targets: { protocol: kubernetes }
  kubeGroups: [view]
  kubeRules:
    - { verbs: [get, list, watch], resources: [pods], namespaces: ["*"] }
`);
    await watch.exited;
    expect(watch.output()).toContain('custos: access revoked: no role of wanda allows watch configmaps');
    const revoked = await waitFor(async () => (await store().audit.list({ type: 'access.revoked', identity: 'wanda' }))[0]);
    expect(revoked.sessionId).toBe(session.id);
    expect((await store().sessions.get(session.id))?.state).toBe('live');
    const refused = await s.kubectl(wanda, ['get', 'configmaps']);
    expect(refused.stderr).toContain('Forbidden');
    expect((await s.kubectl(wanda, ['get', 'pods'])).code).toBe(0);
  });

  it('an API session without requests closes after kubernetes.apiSessionIdle; the next request opens another', async () => {
    const victor = await s.kubeconfig('victor');
    expect((await s.kubectl(victor, ['get', 'pods'])).code).toBe(0);
    const first = await apiSessionOf('victor');
    const closed = await waitFor(async () => {
      const row = await store().sessions.get(first.id);
      return row?.state === 'closed' ? row : undefined;
    }, { what: 'the idle API session to close', timeoutMs: 20_000 });
    expect(closed.endReason).toMatch(/^idle: no request for \d+s$/);
    expect((await s.kubectl(victor, ['get', 'pods'])).code).toBe(0);
    expect((await apiSessionOf('victor')).id).not.toBe(first.id);
  });

  it('fails closed: when requests cannot be recorded, running ones end and new ones get 503, until the log recovers', async () => {
    const watch = background(s, alice, ['get', 'pods', '-w']);
    await waitFor(() => watch.output().includes('web-0'), { what: 'the watch to start' });
    const token = await s.token('alice');
    const get = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(new URL('/k8s/k8s/api/v1/namespaces/default/pods', s.gatewayUrl), { ca: s.caPem, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const gatewayStore = s.tg.gateway.store as { kubeRequests: typeof s.tg.gateway.store.kubeRequests };
    const real = gatewayStore.kubeRequests;
    gatewayStore.kubeRequests = {
      ...real,
      writeBatch: () => Promise.reject(new Error('disk full')),
      list: real.list,
      lastId: real.lastId,
      insert: real.insert,
    };
    try {
      await get(); // its row cannot be written: the log fails
      await watch.exited;
      expect(watch.output()).toContain('the gateway cannot record requests right now');
      const refused = await waitFor(async () => {
        const answer = await get();
        return answer.status === 503 ? answer : undefined;
      }, { what: 'a 503' });
      expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: expect.stringContaining('cannot record') });
    } finally {
      gatewayStore.kubeRequests = real;
    }
    await waitFor(async () => (await get()).status === 200, { what: 'requests to be served again' });
  });

  it('custos kubeconfig prints a kubeconfig kubectl uses unchanged; custos kube-requests lists what happened', async () => {
    const printed = await s.tg.cli(['kubeconfig', 'alice', '--target', 'k8s', '--ttl', '1h', '--namespace', 'default']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stderr).toMatch(new RegExp(`kubeconfig for alice at ${s.gatewayUrl.replace(/\./g, '\\.')} \\(k8s\\); token tok_\\S+, expires`));
    const file = `${s.dir}/printed.kubeconfig`;
    (await import('node:fs')).writeFileSync(file, printed.stdout, { mode: 0o600 });
    const got = await s.kubectl(file, ['get', 'pods', '-o', 'name']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain('pod/web-0');
    const wrong = await s.tg.cli(['kubeconfig', 'alice', '--target', 'k8s,nope']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('no target named "nope"');

    await waitFor(async () => (await store().kubeRequests.list({ identity: 'alice', verb: 'list', resource: 'pods' })).length > 0);
    const listed = await s.tg.cli(['kube-requests', '--identity', 'alice', '--verb', 'list', '--resource', 'pods', '--format', 'jsonl']);
    expect(listed.code, listed.stderr).toBe(0);
    const records = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(0);
    expect(Object.keys(records[0]!)).toEqual(expect.arrayContaining(['id', 'started_at', 'identity', 'session_id', 'verb', 'resource', 'namespace', 'code', 'duration_ms', 'kube_user']));
    expect(records.every((record) => record.identity === 'alice' && record.verb === 'list' && record.resource === 'pods')).toBe(true);
    expect((await s.kubectl(alice, ['get', 'pods', '--as', 'someone-else'])).code).not.toBe(0);
    await waitFor(async () => (await store().kubeRequests.list({ identity: 'alice', decision: 'denied' })).length > 0);
    const csv = await s.tg.cli(['kube-requests', '--identity', 'alice', '--decision', 'denied', '--format', 'csv']);
    expect(csv.stdout.split('\r\n')[0]).toBe('id,started_at,identity,identity_id,session_id,seq,target,method,verb,api_group,api_version,resource,subresource,namespace,name,path,decision,reason,kube_user,kube_groups,code,duration_ms,request_bytes,response_bytes,client_addr,user_agent,details');
    expect(csv.stdout).toContain(',denied,');
    const table = await s.tg.cli(['kube-requests', '--session', String(records[0]!.session_id)]);
    expect(table.stdout).toMatch(/^TIME\s+IDENTITY\s+TARGET\s+SESSION\s+VERB\s+RESOURCE/);
    expect(table.stdout).toContain(String(records[0]!.session_id));
  });

  // Last: it stops the gateway.
  it('shutdown warns an exec shell, then ends it and every watch with the reason; the recording is sealed', async () => {
    const watch = background(s, alice, ['get', 'pods', '-w']);
    await waitFor(() => watch.output().includes('web-0'), { what: 'the watch to start' });
    const terminal = spawnInPty(kubectlPath(), ['exec', '-it', 'web-0', '--', 'sh'], { env: { PATH: process.env.PATH, KUBECONFIG: alice, HOME: s.dir } });
    await terminal.waitFor(/[$#] $/);
    const exec = await waitFor(async () => (await store().sessions.list({ identity: 'alice', state: 'live' })).find((row) => (row.details as { kind?: string }).kind === 'exec'));
    await s.tg.gateway.stop();
    await terminal.waitFor(/custos: gateway shutting down in 2s/);
    await terminal.waitFor(/custos: the gateway is shutting down/);
    await terminal.exited;
    await watch.exited;
    expect(watch.output()).toContain('custos: the gateway is shutting down');
    const reopened = await openStore(`pglite://${join(s.tg.dataDir, 'store')}`, { worker: false });
    try {
      const ended = await reopened.sessions.get(exec.id);
      expect(ended).toMatchObject({ state: 'closed', endReason: 'the gateway shut down', recordingSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect((await reopened.sessions.list({ identity: 'alice', state: 'live' })).length).toBe(0);
    } finally {
      await reopened.close();
    }
  });
});
