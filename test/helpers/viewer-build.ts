import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

/** Newest modification time under `dir` (recursively). */
function newest(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/**
 * Builds the viewer (vite build of web/ into web/dist) when the build is missing or older
 * than its sources, so browser tests always exercise the current front end.
 */
export function ensureViewerBuilt(): void {
  const web = join(REPO_ROOT, 'web');
  const built = join(web, 'dist', 'index.html');
  const sources = Math.max(newest(join(web, 'src')), newest(join(web, 'index.html')), newest(join(web, 'vite.config.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(web, 'vite.config.ts')], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}
