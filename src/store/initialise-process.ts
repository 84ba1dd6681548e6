import { spawnModuleProcess } from '../core/module-process.js';
import type { ConnectOptions } from './connect.js';
import { StoreError } from './errors.js';

/**
 * Creates and migrates a new embedded store in a child process. initdb runs a second
 * PostgreSQL beside the first and leaves hundreds of MiB in the process that ran it (malloc
 * arenas glibc never returns, buffers held until a GC that an idle gateway never runs);
 * the child takes all of it with it when it exits.
 */
export async function initialiseInChildProcess(url: string, options: ConnectOptions): Promise<void> {
  const child = spawnModuleProcess(new URL('./initialise-main.js', import.meta.url), [url, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(new StoreError('unavailable', `cannot start the store initialiser: ${error.message}`)));
    child.once('close', resolve);
  });
  if (code === 0) return;
  const reported = /^\{.*\}$/m.exec(out)?.[0];
  if (reported) {
    const error = JSON.parse(reported) as { code: string; message: string };
    throw new StoreError(error.code, error.message);
  }
  throw new StoreError('unavailable', `cannot initialise the embedded store (exit ${code}): ${err.trim().split('\n').at(-1) ?? 'no message'}`);
}
