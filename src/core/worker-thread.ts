import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller, given as `new URL('./x.js',
 * import.meta.url)`. When the gateway runs from TypeScript sources (tests, tsx) the `.ts`
 * twin is loaded with tsx registered inside the worker.
 */
export function startModuleWorker(moduleUrl: URL, workerData: unknown, options: { resourceLimits?: ResourceLimits } = {}): Worker {
  const href = moduleUrl.href;
  const tsHref = href.replace(/\.js$/, '.ts');
  const fromSources = import.meta.url.endsWith('.ts');
  if (!fromSources) return new Worker(moduleUrl, { workerData, ...options });
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(tsHref)}); })`;
  return new Worker(boot, { eval: true, workerData, ...options });
}
