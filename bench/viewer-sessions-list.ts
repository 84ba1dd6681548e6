/**
 * The sessions page over 100k sessions in the embedded store (PGlite), at the repository
 * level: first page, a page deep in the keyset, the "own sessions" scope, ticket, state and
 * time-range filters. Baseline, same run: the same queries after dropping the indexes the
 * viewer added (sessions_identity_id_idx, sessions_ticket_idx).
 *
 *   npm run bench:viewer-sessions [-- --count 100000]
 */
import { sql } from 'drizzle-orm';
import { connectDatabase } from '../src/store/connect.js';
import { createRepositories } from '../src/store/repositories/index.js';
import type { SessionPageFilter, ViewerScope } from '../src/store/repositories/viewer.js';
import { prepareGatewayFiles } from '../test/helpers/gateway.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { insertManySessions, type FixtureIdentity } from '../test/helpers/viewer-fixtures.js';

const at = process.argv.indexOf('--count');
const COUNT = at >= 0 ? Number(process.argv[at + 1]) : 100_000;
const REPEAT = 15;

// 200 identities: one identity's own sessions are 0.5% of the rows.
const people: FixtureIdentity[] = Array.from({ length: 200 }, (_, i) => ({ id: `idn_u${i}`, name: `u${i}`, kind: 'human' as const, owner: null, roles: [] }));

async function main(): Promise<void> {
  process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
  const files = await prepareGatewayFiles();
  const url = `pglite://${files.dataDir}/store`;
  try {
    const started = performance.now();
    await insertManySessions(url, COUNT, people);
    console.log(`${COUNT} sessions inserted in ${(performance.now() - started).toFixed(0)} ms`);
    const database = await connectDatabase(url);
    const viewer = createRepositories(database.db, database.bulk).viewer;
    const all: ViewerScope = { identityIds: null };
    const deepCursor = (await viewer.sessionsPage(all, { limit: 1000 })).at(-1)!;
    const mid = new Date(Date.parse('2024-01-01T00:00:00Z') + (COUNT / 2) * 60_000);
    const cases: Array<[string, ViewerScope, SessionPageFilter]> = [
      ['first page (50)', all, { limit: 51 }],
      ['page after 1000 rows', all, { limit: 51, before: { startedAt: deepCursor.startedAt, id: deepCursor.id } }],
      ['own scope (1 of 200 identities)', { identityIds: ['idn_u7'] }, { limit: 51 }],
      ['ticket filter', all, { limit: 51, ticket: 'T-42' }],
      ['identity + state=live', all, { limit: 51, identity: 'u10', state: 'live' }],
      ['one hour in the middle', all, { limit: 51, since: mid, until: new Date(mid.getTime() + 3_600_000) }],
    ];
    const measure = async () => {
      const out: number[] = [];
      for (const [, scope, filter] of cases) {
        const times: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          const t = performance.now();
          await viewer.sessionsPage(scope, filter);
          times.push(performance.now() - t);
        }
        out.push(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!);
      }
      return out;
    };
    const indexed = await measure();
    for (const name of ['sessions_identity_id_idx', 'sessions_ticket_idx']) {
      await database.db.execute(sql.raw(`drop index if exists ${name}`));
    }
    const baseline = await measure();
    await database.close();
    console.log('median ms over', REPEAT, 'runs        with indexes   without (baseline)   ratio');
    cases.forEach(([name], i) => {
      console.log(`${name.padEnd(32)} ${indexed[i]!.toFixed(2).padStart(10)} ${baseline[i]!.toFixed(2).padStart(18)} ${(baseline[i]! / indexed[i]!).toFixed(1).padStart(9)}x`);
    });
  } finally {
    files.remove();
  }
}

await main();
