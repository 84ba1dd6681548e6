import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { WebhookNotifier } from '../../src/core/webhook.js';
import type { RequestActor } from '../../src/policy/approval-rules.js';
import { toIdentity } from '../../src/policy/identity.js';
import { applyResources, GATED_DB_RESOURCES } from '../helpers/approvals.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/** A real HTTP receiver that answers with the statuses it is given, then 200. */
async function receiver(statuses: number[] = []): Promise<{ url: string; bodies: Array<Record<string, unknown>>; attempts: number; server: Server }> {
  const state = { bodies: [] as Array<Record<string, unknown>>, attempts: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.attempts += 1;
      const status = statuses.shift() ?? 200;
      if (status === 200) state.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get bodies() {
      return state.bodies;
    },
    get attempts() {
      return state.attempts;
    },
    server,
  };
}

describe('WebhookNotifier', () => {
  it('retries with backoff until the receiver takes it, in order, without blocking the sender', async () => {
    const hook = await receiver([500, 503]);
    const notifier = new WebhookNotifier({ url: hook.url, logger: createLogger('silent'), baseDelayMs: 20 });
    notifier.send({ id: 'one' });
    notifier.send({ id: 'two' });
    await waitFor(() => hook.bodies.length === 2, { what: 'both notifications' });
    expect(hook.bodies.map((body) => body.id)).toEqual(['one', 'two']);
    expect(hook.attempts).toBe(4);
    await notifier.stop();
    hook.server.close();
  });

  it('gives up after its attempts and goes on with the next', async () => {
    const hook = await receiver([500, 500, 500]);
    const notifier = new WebhookNotifier({ url: hook.url, logger: createLogger('silent'), baseDelayMs: 10, attempts: 3 });
    notifier.send({ id: 'lost' });
    notifier.send({ id: 'next' });
    await waitFor(() => hook.bodies.length === 1, { what: 'the next notification' });
    expect(hook.bodies[0]!.id).toBe('next');
    await notifier.stop();
    hook.server.close();
  });
});

describe('notifications.webhook', () => {
  let tg: TestGateway;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver();
    tg = await startTestGateway({ settings: { notifications: { webhook: hook.url }, requests: { expireAfter: '2s' } } });
    await applyResources(tg, GATED_DB_RESOURCES);
  });
  afterAll(async () => {
    await tg?.stop();
    hook?.server.close();
  });

  const actor = async (name: string): Promise<RequestActor> => ({ kind: 'identity', identity: toIdentity((await tg.gateway.store.resources.identityByName(name))!) });

  it('POSTs created, approved, denied, revoked and expired, with the request and who did it', async () => {
    const requests = tg.gateway.requests;
    const asker = await actor('asker');
    const boss = await actor('boss');
    const first = await requests.create(asker, { target: 'db', reason: 'report' });
    await requests.approve(boss, first.request.id, 'fine');
    await requests.revoke(asker, first.request.id, 'finished early');
    const second = await requests.create(asker, { target: 'db', reason: 'again' });
    await requests.deny(boss, second.request.id, 'not today');
    const third = await requests.create(asker, { target: 'db', reason: 'nobody answers' });
    // Unanswered, it expires after requests.expireAfter (2s): the sweeper writes request.expire.
    await waitFor(() => hook.bodies.some((body) => body.type === 'request.expired'), { timeoutMs: 20_000, what: 'the expiry notification' });
    expect(hook.bodies.map((body) => [body.type, (body.request as { id: string }).id, body.actor])).toEqual([
      ['request.created', first.request.id, 'asker'],
      ['request.approved', first.request.id, 'boss'],
      ['request.revoked', first.request.id, 'asker'],
      ['request.created', second.request.id, 'asker'],
      ['request.denied', second.request.id, 'boss'],
      ['request.created', third.request.id, 'asker'],
      ['request.expired', third.request.id, 'gateway:test-node'],
    ]);
    expect(hook.bodies[1]).toMatchObject({ reason: 'fine', gateway: 'test-node', request: { state: 'approved', approvals: [{ approver: 'boss', decision: 'approve' }], grant: { state: 'active' } } });
    const expired = (await tg.gateway.store.audit.list({ type: 'request.expire' })).find((event) => event.data.request === third.request.id);
    expect(expired).toMatchObject({ actor: 'gateway:test-node', data: { reason: 'not answered within 2s' } });
  });
});
