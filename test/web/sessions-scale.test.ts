import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { loadConfig } from '../../src/core/config.js';
import { Gateway } from '../../src/cli/gateway.js';
import { openStore } from '../../src/store/store.js';
import { prepareGatewayFiles, type TestGatewayFiles } from '../helpers/gateway.js';
import { createIdentity, insertManySessions, signIn, type FixtureIdentity } from '../helpers/viewer-fixtures.js';

/**
 * The sessions page over 100k sessions in the embedded store: keyset pages stay correct
 * (no row twice, none skipped, newest first) and filtered and scoped queries find exactly
 * the matching rows. Timings are printed, not asserted (bench/viewer-sessions-list.ts
 * measures them against a baseline).
 */
const COUNT = 100_000;
let files: TestGatewayFiles;
let gateway: Gateway;
let base: string;
let auditorCookie: string;
let aliceCookie: string;

beforeAll(async () => {
  files = await prepareGatewayFiles();
  const config = loadConfig({ file: files.configPath });
  // Identities first (through the store as the CLI would), then the bulk rows with no gateway holding the store.
  const store = await openStore(config.store.url);
  const people: FixtureIdentity[] = [];
  let auditorToken = '';
  let aliceToken = '';
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    const created = await createIdentity(store, config, { name, ...(name === 'bob' ? { viewer: { sessions: 'all', queries: 'all', audit: true } } : {}) });
    people.push(created.identity);
    if (name === 'bob') auditorToken = created.token;
    if (name === 'alice') aliceToken = created.token;
  }
  await store.close();
  const started = performance.now();
  await insertManySessions(config.store.url, COUNT, people);
  console.log(`inserted ${COUNT} sessions in ${Math.round(performance.now() - started)} ms`);
  gateway = await Gateway.start(config, { logger: createLogger('error') });
  const address = gateway.addresses.web!;
  base = `http://${address.host}:${address.port}`;
  auditorCookie = (await signIn(base, 'bob', auditorToken)).cookie;
  aliceCookie = (await signIn(base, 'alice', aliceToken)).cookie;
}, 240_000);

afterAll(async () => {
  await gateway?.stop();
  files?.remove();
});

async function page(cookie: string, query: string): Promise<{ items: Array<{ id: string; startedAt: string; identityName: string; ticket: string | null }>; nextCursor: string | null; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/api/sessions?${query}`, { headers: { cookie } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { items: Array<{ id: string; startedAt: string; identityName: string; ticket: string | null }>; nextCursor: string | null };
  return { ...body, ms: performance.now() - started };
}

it('pages through 100k sessions by keyset without gaps or repeats', async () => {
  const seen = new Set<string>();
  let cursor: string | null = null;
  const timings: number[] = [];
  for (let i = 0; i < 20; i++) {
    const result = await page(auditorCookie, `limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    timings.push(result.ms);
    for (const item of result.items) seen.add(item.id);
    cursor = result.nextCursor;
  }
  expect(seen.size).toBe(4000);
  // Newest first: the last 4000 of the deterministic ids.
  expect([...seen].slice(0, 2)).toEqual([`ses_bulk${String(COUNT - 1).padStart(8, '0')}`, `ses_bulk${String(COUNT - 2).padStart(8, '0')}`]);
  expect(seen.has(`ses_bulk${String(COUNT - 4000).padStart(8, '0')}`)).toBe(true);
  console.log(`sessions page (200 rows): median ${median(timings).toFixed(1)} ms over ${timings.length} pages`);
});

it('filters 100k sessions by identity scope, ticket, state and time range', async () => {
  const own = await page(aliceCookie, 'limit=50');
  expect(own.items).toHaveLength(50);
  expect(own.items.every((item) => item.identityName === 'alice')).toBe(true);
  const ticket = await page(auditorCookie, 'ticket=T-42&limit=200');
  // i % 7 === 0 and i % 100 === 42 → i ≡ 42 (mod 100) and i ≡ 0 (mod 7): one in 700.
  const expected = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 7 === 0 && i % 100 === 42).length;
  expect(ticket.items).toHaveLength(expected);
  expect(ticket.items.every((item) => item.ticket === 'T-42')).toBe(true);
  // An hour in the middle: the closed sessions started in it (each lasts 30 s; the ones
  // still live from before the hour overlap it too, and are excluded by state).
  const from = new Date(Date.parse('2024-01-01T00:00:00Z') + 50_000 * 60_000);
  const until = new Date(from.getTime() + 3_600_000 - 1);
  const range = await page(auditorCookie, `since=${from.toISOString()}&until=${until.toISOString()}&state=closed&limit=100`);
  expect(range.items).toHaveLength(54);
  const live = await page(auditorCookie, 'state=live&identity=carol&limit=10');
  expect(live.items).toHaveLength(10);
  console.log(`own scope ${own.ms.toFixed(1)} ms · ticket ${ticket.ms.toFixed(1)} ms · range ${range.ms.toFixed(1)} ms · live+identity ${live.ms.toFixed(1)} ms`);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
