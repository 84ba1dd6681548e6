import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/store/connect.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { copyStoreTemplate, ensureStoreTemplate } from '../helpers/store-template.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const temps: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const temp of temps.splice(0)) temp.remove();
});

async function migratedStoreDir(): Promise<string> {
  const temp = makeTempDir('cpm-');
  temps.push(temp);
  const dir = join(temp.path, 'store');
  copyStoreTemplate(process.env.CUSTOS_TEST_STORE_TEMPLATE ?? (await ensureStoreTemplate()), dir);
  return dir;
}

async function memorySettings(url: string): Promise<Record<string, string>> {
  const database = await connectDatabase(url, { migrate: false });
  try {
    const shown: Record<string, string> = {};
    for (const name of ['shared_buffers', 'work_mem', 'maintenance_work_mem']) {
      const result = (await database.db.execute(sql.raw(`show ${name}`))) as unknown as { rows: Array<Record<string, string>> };
      shown[name] = result.rows[0]![name]!;
    }
    return shown;
  } finally {
    await database.close();
  }
}

describe('the embedded store is sized for a gateway', () => {
  it('starts PostgreSQL with the embedded defaults, not a database server’s', async () => {
    const dir = await migratedStoreDir();
    expect(await memorySettings(`pglite://${dir}`)).toEqual({ shared_buffers: '16MB', work_mem: '4MB', maintenance_work_mem: '16MB' });
  });

  it('takes the sizes given in the store URL', async () => {
    const dir = await migratedStoreDir();
    expect(await memorySettings(`pglite://${dir}?sharedBuffers=8MB&workMem=1MB&maintenanceWorkMem=32MB`)).toEqual({
      shared_buffers: '8MB',
      work_mem: '1MB',
      maintenance_work_mem: '32MB',
    });
  });

  it('refuses a setting it does not know before touching the directory', async () => {
    const dir = await migratedStoreDir();
    const opening = openStore(`pglite://${dir}?sharedBufers=8MB`);
    await expect(opening).rejects.toBeInstanceOf(StoreError);
    await expect(opening).rejects.toMatchObject({ code: 'invalid', message: expect.stringMatching(/unknown embedded store setting "sharedBufers"/) });
    // Nothing was locked: the store opens with a correct URL.
    const store = await openStore(`pglite://${dir}?sharedBuffers=8MB`);
    expect((await store.health()).ok).toBe(true);
    await store.close();
  });

  it('creates a new store in a child process, then serves it from the worker thread', async () => {
    const temp = makeTempDir('cpm-');
    temps.push(temp);
    const store = await openStore(`pglite://${join(temp.path, 'fresh')}`);
    try {
      expect((await store.health()).ok).toBe(true);
      await store.audit.append([{ type: 'test.event', actor: 'test', data: {} }]);
      expect((await store.audit.head())?.seq).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reports why a new store could not be created, with the initialiser’s error code', async () => {
    const temp = makeTempDir('cpm-');
    temps.push(temp);
    const dir = join(temp.path, 'fresh');
    mkdirSync(dir);
    // A live process (this one) holds the directory.
    writeFileSync(join(dir, 'custos.pid'), String(process.pid));
    await expect(openStore(`pglite://${dir}`)).rejects.toMatchObject({ code: 'locked', message: expect.stringMatching(/is in use by process/) });
  });
});
