import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareGatewayFiles, spawnGateway } from '../helpers/gateway.js';
import { startPostgres, type EphemeralPostgres } from '../helpers/postgres.js';

const ROLES = Array.from({ length: 5 }, (_, i) => `kind: role\nname: r${i}\nspec: {targets: {env: prod}, logins: [u${i}]}\n`).join('---\n');

describe('custos verify on a PostgreSQL store', () => {
  let postgres: EphemeralPostgres;
  let counter = 0;

  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(() => postgres?.stop());

  /** A fresh store with six chained events (gateway start and the five role creations). */
  async function freshStore() {
    const database = `verify_${++counter}`;
    const admin = await postgres.admin();
    await admin.query(`create database ${database}`);
    await admin.end();
    const files = await prepareGatewayFiles({ storeUrl: postgres.url(postgres.superuser, database) });
    const gateway = await spawnGateway(files);
    const file = join(files.dataDir, 'roles.yaml');
    writeFileSync(file, ROLES);
    expect((await files.cli(['apply', '-f', file])).code).toBe(0);
    expect(await gateway.stop()).toBe(0);
    const tamper = async (statement: string) => {
      const client = await postgres.admin(database);
      await client.query(statement);
      await client.end();
    };
    return { files, tamper };
  }

  it('exits 0 on an intact chain written by a gateway', async () => {
    const { files } = await freshStore();
    const result = await files.cli(['verify']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit chain intact: 7 events, head seq 7/) });
    files.remove();
  });

  it.each([
    ['a changed event', `update audit_events set data = data || '{"reason":"nothing to see"}' where seq = 3`, /BROKEN at event 3: event 3 \(resource\.create\) was changed/],
    ['a deleted event', 'delete from audit_events where seq = 4', /BROKEN at event 5: .*expected seq 4, found 5/],
    [
      'an inserted event',
      `insert into audit_events (seq, time, type, actor, data, prev_hash, hash)
       select 8, now(), 'resource.delete', 'os:mallory@host', '{}'::jsonb, hash, hash from audit_events where seq = 7`,
      /BROKEN at event 8: event 8 \(resource\.delete\) was changed/,
    ],
    ['a reordered event', 'update audit_events set time = time - interval \'1 day\' where seq = 2', /BROKEN at event 2/],
  ])('exits 1 naming %s', async (_what, statement, message) => {
    const { files, tamper } = await freshStore();
    await tamper(statement);
    const result = await files.cli(['verify']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(message);
    files.remove();
  });
});
