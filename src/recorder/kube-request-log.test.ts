import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyStoreTemplate, ensureStoreTemplate } from '../../test/helpers/store-template.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { openStore, type Store } from '../store/store.js';
import { KubeRequestLog, type KubeRequestStart } from './kube-request-log.js';

let seq = 0;
const start = (sessionId: string, fields: Partial<KubeRequestStart> = {}): KubeRequestStart => ({
  sessionId,
  seq: ++seq,
  identityId: 'idn_alice',
  identityName: 'alice',
  target: 'k8s-prod',
  method: 'GET',
  verb: 'get',
  apiGroup: '',
  apiVersion: 'v1',
  resource: 'pods',
  subresource: '',
  namespace: 'default',
  name: 'web-0',
  path: '/api/v1/namespaces/default/pods/web-0',
  decision: 'allowed',
  reason: null,
  kubeUser: 'custos:alice',
  kubeGroups: ['view'],
  clientAddr: '127.0.0.1',
  userAgent: 'kubectl/v1.32',
  details: null,
  longRunning: false,
  ...fields,
});

describe('KubeRequestLog', () => {
  let store: Store;
  let temp: { path: string; remove(): void };
  const calls = { inserts: 0, failing: false };
  let kubeRequests: Store['kubeRequests'];
  const rows = (sessionId: string) => store.kubeRequests.list({ sessionId });

  beforeAll(async () => {
    temp = makeTempDir('ckr-');
    const dir = join(temp.path, 'store');
    copyStoreTemplate(process.env.CUSTOS_TEST_STORE_TEMPLATE ?? (await ensureStoreTemplate()), dir);
    store = await openStore(`pglite://${dir}`, { worker: false });
    const real = store.kubeRequests;
    kubeRequests = {
      ...real,
      writeBatch: async (inserts: string | null, completions: string | null) => {
        if (calls.failing) throw new Error('disk full');
        if (inserts) calls.inserts += 1;
        return real.writeBatch(inserts, completions);
      },
    };
  });
  afterAll(async () => {
    await store?.close();
    temp?.remove();
  });

  it('writes a short request once, with its outcome, and many of them in few inserts', async () => {
    const log = new KubeRequestLog({ kubeRequests });
    const before = calls.inserts;
    for (let i = 0; i < 3000; i++) log.begin(start('ses_short')).end({ code: 200, requestBytes: 0, responseBytes: 1234 });
    await log.flush();
    expect(calls.inserts - before).toBeLessThanOrEqual(3);
    const written = await store.kubeRequests.list({ sessionId: 'ses_short', limit: 5000 });
    expect(written).toHaveLength(3000);
    expect(written[0]).toMatchObject({ code: 200, responseBytes: 1234, requestBytes: 0, decision: 'allowed', kubeGroups: ['view'], verb: 'get', resource: 'pods' });
    expect(written[0]!.durationMs).toBeGreaterThanOrEqual(0);
    await log.close();
  });

  it('writes a long-running request when it starts and completes it when it ends, merging details', async () => {
    const log = new KubeRequestLog({ kubeRequests }, { maxDelayMs: 1 });
    const entry = log.begin(start('ses_watch', { verb: 'watch', name: '', longRunning: true, details: { watch: true } }));
    const early = await waitFor(async () => (await rows('ses_watch'))[0]);
    expect(early).toMatchObject({ code: null, durationMs: null, responseBytes: null, details: { watch: true } });
    entry.end({ code: 200, requestBytes: 0, responseBytes: 99, reason: 'the session ended', details: { events: 3 } });
    await log.flush();
    const [final] = await rows('ses_watch');
    expect(final).toMatchObject({ code: 200, responseBytes: 99, reason: 'the session ended', details: { watch: true, events: 3 } });
    await log.close();
  });

  it('writes a short request still running after a while without its outcome, then completes it', async () => {
    const log = new KubeRequestLog({ kubeRequests }, { unfinishedAfterMs: 50, maxDelayMs: 1 });
    const entry = log.begin(start('ses_slow', { verb: 'list', name: '' }));
    const early = await waitFor(async () => (await rows('ses_slow'))[0]);
    expect(early).toMatchObject({ code: null, verb: 'list' });
    entry.end({ code: 500, requestBytes: 10, responseBytes: 20 });
    await log.flush();
    expect((await rows('ses_slow'))[0]).toMatchObject({ code: 500, requestBytes: 10, responseBytes: 20 });
    expect(log.pending).toBe(0);
    await log.close();
  });

  it('fails closed when the store cannot be written, and writes what it holds once it can', async () => {
    const failures: string[] = [];
    const log = new KubeRequestLog({ kubeRequests }, { maxDelayMs: 1, retryMs: 50, onFailure: (error) => failures.push(error.code) });
    calls.failing = true;
    const entry = log.begin(start('ses_fail'));
    entry.end({ code: 200, requestBytes: 0, responseBytes: 1 });
    await waitFor(() => log.failed, { what: 'the log to fail' });
    expect(failures).toEqual(['kube_request_log_failed']);
    expect(() => log.begin(start('ses_fail'))).toThrow(/cannot be written/);
    calls.failing = false;
    await waitFor(() => log.failed === null, { what: 'the log to recover' });
    await log.flush();
    expect(await rows('ses_fail')).toHaveLength(1);
    log.begin(start('ses_fail')).end({ code: 200, requestBytes: 0, responseBytes: 1 });
    await log.close();
    expect(await rows('ses_fail')).toHaveLength(2);
  });

  it('refuses new requests beyond its bound instead of growing without limit', async () => {
    const log = new KubeRequestLog({ kubeRequests }, { maxPending: 3 });
    for (let i = 0; i < 3; i++) log.begin(start('ses_bound'));
    expect(() => log.begin(start('ses_bound'))).toThrow(/too far behind/);
    await log.close();
    expect(await rows('ses_bound')).toHaveLength(3);
  });
});
