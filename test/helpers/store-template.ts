import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER } from '../../src/store/migrations-folder.js';
import { openStore } from '../../src/store/store.js';

/**
 * A closed, migrated embedded store that tests copy instead of initialising PGlite (4–8 s)
 * per gateway. Cached in the temp dir, keyed by the migrations and the PGlite version.
 */
export async function ensureStoreTemplate(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER, { recursive: true }).map(String).sort()) {
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(file).update(readFileSync(join(MIGRATIONS_FOLDER, file)));
  }
  hash.update(readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url)));
  const dir = join(tmpdir(), `custos-store-template-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'PG_VERSION')) || existsSync(join(dir, 'base'))) return dir;
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const store = await openStore(`pglite://${building}`, { worker: false });
  await store.close();
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

/** Copies the template into `dir` (which must not exist yet). */
export function copyStoreTemplate(template: string, dir: string): void {
  cpSync(template, dir, { recursive: true });
}
