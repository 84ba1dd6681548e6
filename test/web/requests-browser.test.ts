import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asIdentity, sshTargetYaml, tokenFor, type IdentityCli } from '../helpers/approvals.js';
import { ARTIFACTS_DIR, launchBrowser } from '../helpers/browser.js';
import { startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The Requests page in headless Chromium: an operator asks for access (through the API, as
 * the CLI does), an approver signs in to the viewer, finds the request, is refused nothing
 * they may do, approves it (CSRF-protected POST), the operator opens a real SSH session
 * under it, and the request page lists that session with a link to its recording.
 */
let f: SshFixture;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let base: string;
let alice: IdentityCli;
let approverToken: string;
const problems: string[] = [];

beforeAll(async () => {
  f = await startSshFixture();
  await f.apply(`${sshTargetYaml(f, 'prod1', { env: 'prod' })}
---
kind: role
name: prod-access
spec:
  targets: { env: prod }
  logins: [${f.login}]
  requireApproval: { approvers: [approvers], ticket: required }
---
kind: role
name: approvers
spec: {}
---
kind: identity
name: alice
spec: { kind: human, roles: [ops, prod-access], sshKeys: ["${f.keys.alice.publicLine}"] }
---
kind: identity
name: approver
spec: { kind: human, roles: [approvers] }
`);
  alice = asIdentity(f.gateway, await tokenFor(f.gateway, 'alice'));
  approverToken = await tokenFor(f.gateway, 'approver');
  const { host, port } = f.gateway.address('web');
  base = `http://${host}:${port}`;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('response', (response) => {
    if (response.status() === 404) problems.push(`404 ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(message.text());
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await f?.stop();
});

describe('the Requests page', () => {
  it('an approver approves in the viewer, and the request page lists the session opened under it', async () => {
    const created = await alice.api<{ id: string }>('POST', '/api/requests', { target: 'prod1', reason: 'rotate certificates', ticket: 'CHG-9001', duration: '30m' });
    expect(created.status).toBe(201);
    const id = created.body.id;

    await page.goto(`${base}/requests`);
    await page.waitForURL(/\/login\?next=/);
    await page.fill('input[name=identity]', 'approver');
    await page.fill('input[name=token]', approverToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/requests`);
    const row = page.locator(`[data-testid=requests] tbody tr`, { hasText: 'CHG-9001' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/pending.*alice.*prod1.*CHG-9001.*0\/1.*rotate certificates/);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'requests-list.png'), fullPage: true });

    await row.locator('a[href^="/requests/"]').click();
    await page.waitForURL(`${base}/requests/${id}`);
    await expect.poll(() => page.locator('[data-testid=request-state]').first().textContent()).toBe('pending');
    await page.fill('[data-testid=answer-reason]', 'matches the change calendar');
    await page.click('[data-testid=request-approve]');
    await expect.poll(() => page.locator('[data-testid=request-state]').first().textContent()).toBe('approved');
    await expect.poll(() => page.locator('[data-testid=approvals]').textContent()).toContain('matches the change calendar');
    const approval = (await f.gateway.gateway.store.audit.list({ type: 'request.approve' })).find((event) => event.data.request === id);
    expect(approval).toMatchObject({ actor: 'approver', data: { reason: 'matches the change calendar' } });

    const run = await f.run(f.keys.alice, `${f.login}@prod1`, ['echo', 'approved-work']);
    expect(run.stdout.toString()).toBe('approved-work\n');
    const session = await waitFor(async () => (await f.gateway.gateway.store.sessions.list({ ticket: 'CHG-9001', state: 'closed' }))[0], { what: 'the session to close' });

    await page.reload();
    const sessions = page.locator('[data-testid=request-sessions]');
    await expect.poll(() => sessions.locator('tbody tr').count()).toBe(1);
    expect(await sessions.textContent()).toMatch(/alice.*ssh.*closed.*recording/);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'requests-request.png'), fullPage: true });
    // From the request to the evidence in one click.
    await sessions.locator('a', { hasText: 'recording' }).click();
    await page.waitForURL(`${base}/sessions/${session.id}`);
    await expect.poll(() => page.locator('[data-testid=evidence]').textContent()).toContain('CHG-9001');
  }, 180_000);

  it('refuses in the page what the approver may not do, with the reason', async () => {
    const created = await alice.api<{ id: string }>('POST', '/api/requests', { target: 'prod1', reason: 'second', ticket: 'CHG-9002' });
    await page.goto(`${base}/requests/${created.body.id}`);
    await expect.poll(() => page.locator('[data-testid=request-state]').first().textContent()).toBe('pending');
    await page.click('[data-testid=request-deny]');
    await expect.poll(() => page.locator('[data-testid=answer-status]').textContent()).toBe('Give a reason first.');
    await page.fill('[data-testid=answer-reason]', 'wrong window');
    await page.click('[data-testid=request-deny]');
    await expect
      .poll(async () => `${await page.locator('[data-testid=request-state]').first().textContent()} ${await page.locator('[data-testid=answer-status]').count() ? await page.locator('[data-testid=answer-status]').textContent() : ''}`.trim())
      .toBe('denied');
  });

  it('raised no script errors', () => {
    expect(problems).toEqual([]);
  });
});
