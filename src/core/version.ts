import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'custos' && pkg.version) return pkg.version;
    } catch {
      // try the next layout (src/core vs dist/core)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
