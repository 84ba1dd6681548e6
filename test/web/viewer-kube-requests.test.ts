import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewKubeRequestRow } from '../../src/store/repositories/kube-requests.js';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createIdentity, signIn, type FixtureIdentity } from '../helpers/viewer-fixtures.js';

/** The viewer's Kubernetes requests list and exports: the query log's rights and conventions. */
describe('viewer: Kubernetes requests', () => {
  let tg: TestGateway;
  let base: string;
  const cookies: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const people: Record<string, FixtureIdentity> = {};
  const get = (who: string, path: string) => fetch(`${base}${path}`, { headers: { cookie: cookies[who]! } });

  const row = (identity: FixtureIdentity, seq: number, fields: Partial<NewKubeRequestRow> = {}): NewKubeRequestRow => ({
    sessionId: `ses_${identity.name}`,
    seq,
    identityId: identity.id,
    identityName: identity.name,
    target: 'k8s-prod',
    method: 'GET',
    verb: 'get',
    apiGroup: '',
    apiVersion: 'v1',
    resource: 'pods',
    subresource: '',
    namespace: 'prod',
    name: `web-${seq}`,
    path: `/api/v1/namespaces/prod/pods/web-${seq}`,
    decision: 'allowed',
    reason: null,
    kubeUser: `custos:${identity.name}`,
    kubeGroups: ['view'],
    startedAt: new Date(Date.parse('2025-05-01T10:00:00Z') + seq * 1000),
    code: 200,
    durationMs: 1.5,
    requestBytes: 0,
    responseBytes: 512,
    clientAddr: '127.0.0.1',
    userAgent: 'kubectl/v1.32.4',
    details: null,
    ...fields,
  });

  beforeAll(async () => {
    tg = await startTestGateway();
    const { host, port } = tg.address('web');
    base = `http://${host}:${port}`;
    for (const [name, viewer] of [
      ['alice', undefined],
      ['auditor', { sessions: 'all', queries: 'all', audit: true }],
      ['nobody', { sessions: 'none', queries: 'none', audit: false }],
    ] as const) {
      const created = await createIdentity(tg.gateway.store, tg.config, { name, ...(viewer ? { viewer } : {}) });
      people[name] = created.identity;
      tokens[name] = created.token;
      cookies[name] = (await signIn(base, name, created.token)).cookie;
    }
    await tg.gateway.store.kubeRequests.insert([
      row(people.alice!, 1),
      row(people.alice!, 2, { verb: 'create', subresource: 'exec', decision: 'denied', reason: 'no role of alice allows create pods/exec', code: 403, kubeUser: null, kubeGroups: null }),
      row(people.auditor!, 1, { name: '=cmd|calc', namespace: 'kube-system', path: '/api/v1/namespaces/kube-system/pods/<img src=x onerror=window.__xss=1>' }),
    ]);
  }, 120_000);
  afterAll(async () => tg?.stop());

  it('lists the viewer\'s own requests newest first, everyone\'s with queries: all, and filters', async () => {
    const own = (await (await get('alice', '/api/kube-requests')).json()) as { items: Array<{ identity: string; verb: string; decision: string }> };
    expect(own.items.map((item) => [item.identity, item.verb, item.decision])).toEqual([
      ['alice', 'create', 'denied'],
      ['alice', 'get', 'allowed'],
    ]);
    const all = (await (await get('auditor', '/api/kube-requests?namespace=kube-system')).json()) as { items: Array<{ identity: string }> };
    expect(all.items.map((item) => item.identity)).toEqual(['auditor']);
    const denied = (await (await get('auditor', '/api/kube-requests?decision=denied&resource=pods%2Fexec')).json()) as { items: Array<{ reason: string }> };
    expect(denied.items).toEqual([expect.objectContaining({ reason: 'no role of alice allows create pods/exec' })]);
    expect((await get('nobody', '/api/kube-requests')).status).toBe(403);
    expect((await get('alice', '/api/kube-requests?bogus=1')).status).toBe(400);
  });

  it('exports the filtered set as CSV (formula-safe) and JSON lines, and audits each export', async () => {
    const csv = await get('auditor', '/api/kube-requests/export?format=csv&identity=auditor');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,started_at,identity,identity_id,session_id,seq,target,method,verb,api_group,api_version,resource,subresource,namespace,name,path,decision,reason,kube_user,kube_groups,code,duration_ms,request_bytes,response_bytes,client_addr,user_agent,details');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(",'=cmd|calc,");
    const jsonl = await get('alice', '/api/kube-requests/export?format=jsonl');
    const records = (await jsonl.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record.seq)).toEqual([1, 2]);
    expect(records[1]).toMatchObject({ identity: 'alice', subresource: 'exec', decision: 'denied', code: 403, kube_groups: null });
    const events = await tg.gateway.store.audit.list({ type: 'web.kube-requests.export' });
    expect(events.map((event) => [event.actor, (event.data as { format: string; scope: string }).format, (event.data as { scope: string }).scope])).toEqual([
      ['auditor', 'csv', 'all'],
      ['alice', 'jsonl', 'own'],
    ]);
  });

  it('the Kubernetes page lists requests as text, filters them and downloads the filtered CSV (headless Chromium)', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(`${base}/kube-requests`);
      await page.waitForURL(/\/login\?next=/);
      await page.fill('input[name=identity]', 'auditor');
      await page.fill('input[name=token]', tokens.auditor!);
      await page.click('button[type=submit]');
      await page.waitForURL(`${base}/kube-requests`);
      await expect.poll(() => page.locator('[data-testid=kube-requests] tbody tr').count()).toBe(3);
      const text = (await page.locator('[data-testid=kube-requests]').textContent()) ?? '';
      expect(text).toContain('create pods/exec in prod "web-2"');
      expect(text).toContain('denied (403): no role of alice allows create pods/exec');
      expect(text).toContain('custos:alice (view)');
      expect(text).toContain('<img src=x onerror=window.__xss=1>');
      expect(await page.locator('img[src="x"]').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'viewer-kube-requests.png'), fullPage: true });

      await page.selectOption('form.filters select[name=decision]', 'denied');
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/decision=denied/);
      await expect.poll(() => page.locator('[data-testid=kube-requests] tbody tr').count()).toBe(1);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-csv]')]);
      const saved = join(ARTIFACTS_DIR, 'viewer-kube-requests.csv');
      await download.saveAs(saved);
      const lines = readFileSync(saved, 'utf8').trimEnd().split('\r\n');
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain(',denied,');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
