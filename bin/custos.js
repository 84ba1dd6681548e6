#!/usr/bin/env node
// Entry point of the `custos` command: runs the compiled CLI (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('custos: the compiled CLI is missing; run `npm run build` (or `npm ci`) first\n');
  process.exit(2);
}
await import(main.href);
