import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';

/**
 * PGlite is one PostgreSQL in one process: two processes on the same directory would
 * corrupt it. A pid file guards the directory; a stale one (its process is gone) is taken over.
 */
export async function acquireDirLock(dir: string): Promise<{ release(): Promise<void> }> {
  const path = join(dir, 'custos.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return {
        release: async () => {
          const owner = await readFile(path, 'utf8').catch(() => '');
          if (owner.trim() === String(process.pid)) await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner && isAlive(owner)) {
        throw new StoreError(
          'locked',
          `the embedded store in ${dir} is in use by process ${owner} (a running gateway); commands reach it through the gateway's admin socket`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new StoreError('locked', `cannot lock the embedded store in ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
