import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finds a system binary the tests need, or fails loudly with the command that installs it.
 * Tests never skip because something is missing.
 */
export function requireBinary(name: string, install: string, extraDirs: string[] = []): string {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} is required by this test but was not found. Install it with: ${install}`);
}

/** Directories holding PostgreSQL server binaries (initdb, postgres), newest version first. */
export function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'));
}

export const INSTALL_POSTGRES = 'apt-get install -y postgresql (initdb and postgres from /usr/lib/postgresql/<version>/bin)';
export const INSTALL_SSHD = 'apt-get install -y openssh-server';
export const INSTALL_SSH_CLIENT = 'apt-get install -y openssh-client';
