import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOperation } from '../../src/admin/operations.js';
import type { AnchorLine } from '../../src/recorder/audit-anchor.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startPostgres, type EphemeralPostgres } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `audit.anchor: FILE`: the gateway keeps the chain's head outside the store, and plain
 * `custos verify` catches events removed from the end of the chain by it — also when the
 * gateway keeps running (and writing) after the deletion.
 */
let pg: EphemeralPostgres;
let g: TestGateway;
const temp = makeTempDir('canchor-');
const anchorDir = join(temp.path, 'anchors');
const anchorFile = join(anchorDir, 'custos.anchor');

const lines = (): AnchorLine[] =>
  readFileSync(anchorFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AnchorLine);
const head = async () => (await g.gateway.store.audit.head())!;
/** Moves the head: one resource.create. */
const applyRole = (name: string) =>
  runOperation({ store: g.gateway.store, actor: 'test', config: g.config }, 'apply', {
    files: [{ source: 'test.yaml', text: `kind: role\nname: ${name}\nspec:\n  targets: { env: test }\n  logins: [deploy]\n` }],
  });
const deleteFrom = async (seq: number) => {
  const admin = await pg.admin('custos_store');
  try {
    await admin.query('delete from audit_events where seq >= $1', [seq]);
  } finally {
    await admin.end();
  }
};

beforeAll(async () => {
  pg = await startPostgres({ databases: ['custos_store'] });
  mkdirSync(anchorDir);
  g = await startTestGateway({
    storeUrl: pg.url(pg.superuser, 'custos_store'),
    settings: { audit: { anchor: anchorFile, anchorInterval: '200ms' } },
  });
}, 120_000);
afterAll(async () => {
  await g?.stop();
  await pg?.stop();
  temp.remove();
});

describe('audit.anchor', () => {
  it('appends the head at start and again whenever it moves, to a 0600 append-only file', async () => {
    const first = lines();
    expect(first.length).toBeGreaterThanOrEqual(1);
    const started = await head();
    expect(first.at(-1)).toEqual({ seq: started.seq, hash: started.hash, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), node: 'test-node' });
    expect(statSync(anchorFile).mode & 0o777).toBe(0o600);

    await applyRole('anchor-one');
    const moved = await head();
    expect(moved.seq).toBeGreaterThan(started.seq);
    await waitFor(() => lines().at(-1)?.seq === moved.seq, { what: 'the new head in the anchor file' });
    const now = lines();
    // Appended: the earlier lines are still there, byte for byte, and no head is written twice.
    expect(now.slice(0, first.length)).toEqual(first);
    expect(now.at(-1)).toMatchObject({ seq: moved.seq, hash: moved.hash });
    expect(new Set(now.map((line) => line.seq)).size).toBe(now.length);
    expect(now.map((line) => line.seq)).toEqual([...now.map((line) => line.seq)].sort((a, b) => a - b));
  });

  it('lets plain verify pass on an intact chain, naming the anchor it checked', async () => {
    const result = await g.cli(['verify', '--chain-only']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const anchored = lines().at(-1)!;
    expect(result.stdout).toContain(`expected head seq ${anchored.seq} hash ${anchored.hash} (anchor ${anchorFile}`);
  });

  it('records audit.anchor.failed while the file cannot be written, keeps the chain going, and anchors again once it can', async () => {
    rmSync(anchorDir, { recursive: true });
    writeFileSync(anchorDir, 'not a directory');
    await applyRole('anchor-two');
    const failed = await waitFor(async () => (await g.gateway.store.audit.list({ type: 'audit.anchor.failed' }))[0], { what: 'audit.anchor.failed' });
    expect(failed.data).toMatchObject({ file: anchorFile, error: expect.stringContaining('ENOTDIR') });
    await applyRole('anchor-three');
    const stuck = await head();

    rmSync(anchorDir);
    mkdirSync(anchorDir);
    const resumed = await waitFor(() => {
      try {
        return lines().at(-1);
      } catch {
        return undefined;
      }
    }, { what: 'the anchor written again' });
    expect(resumed.seq).toBeGreaterThanOrEqual(stuck.seq);
    const current = await g.gateway.store.audit.page(resumed.seq - 1, 1);
    expect(current[0]?.hash).toBe(resumed.hash);
    // Written once per failing spell, not at every retry.
    expect(await g.gateway.store.audit.list({ type: 'audit.anchor.failed' })).toHaveLength(1);
  });

  it('makes plain verify fail when events are removed from the end, and never anchors the shortened chain', async () => {
    await applyRole('anchor-four');
    const before = await head();
    await waitFor(() => lines().at(-1)?.seq === before.seq, { what: 'the head anchored' });
    await deleteFrom(before.seq - 1);

    // The running gateway goes on writing: the chain grows past the anchored seq again,
    // chained to the shortened head, and the anchor refuses to follow it.
    await applyRole('anchor-five');
    const mismatch = await waitFor(async () => (await g.gateway.store.audit.list({ type: 'audit.anchor.mismatch' }))[0], { what: 'audit.anchor.mismatch' });
    expect(mismatch.data).toMatchObject({ file: anchorFile, anchored: { seq: before.seq, hash: before.hash } });
    expect(lines().at(-1)).toMatchObject({ seq: before.seq, hash: before.hash });

    const result = await g.cli(['verify', '--chain-only']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^audit chain intact: /m);
    expect(result.stdout).toContain(`expected head NOT in the chain: seq ${before.seq} hash ${before.hash} (anchor ${anchorFile}`);
    // Removed from the end, or (the gateway wrote on) the seq now holds another event.
    expect(result.stdout).toMatch(/\(anchor [^)]+\): (the chain ends at seq \d+: events were removed from the end|event \d+ now has hash [0-9a-f]{64}: the chain was rewritten up to it)$/m);
    expect(result.stdout).toMatch(/verification FAILED: 1 problem$/m);
  });

  it('refuses to start when the anchor file cannot be written', async () => {
    const unwritable = join(temp.path, 'missing-dir', 'anchor');
    await expect(startTestGateway({ storeUrl: pg.url(pg.superuser, 'custos_store'), settings: { audit: { anchor: unwritable } } })).rejects.toThrow(
      `the audit anchor file ${unwritable} cannot be written (ENOENT`,
    );
  });
});
