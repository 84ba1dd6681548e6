import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs a module next to the caller, given as `new URL('./x.js', import.meta.url)`, in a new
 * Node process. When the gateway runs from TypeScript sources (tests, tsx) the `.ts` twin
 * runs with tsx loaded.
 */
export function spawnModuleProcess(moduleUrl: URL, args: string[], options: SpawnOptions = {}): ChildProcess {
  const path = fileURLToPath(moduleUrl);
  if (!import.meta.url.endsWith('.ts')) return spawn(process.execPath, [path, ...args], options);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return spawn(process.execPath, ['--import', tsx, path.replace(/\.js$/, '.ts'), ...args], options);
}
