import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory under the system temp dir. Kept short: Unix socket paths (the admin
 * socket, PostgreSQL's socket) must stay under 108 bytes.
 */
export function makeTempDir(prefix = 'custos-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
