import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { appendAnchorLine, newestAnchor } from './audit-anchor.js';

const temp = makeTempDir('canchor-unit-');
afterAll(() => temp.remove());
const hash = (c: string) => c.repeat(64);

describe('anchor file', () => {
  it('reads the newest complete line, skipping a torn one, and appends after a torn line on a line of its own', async () => {
    const file = join(temp.path, 'anchor');
    await appendAnchorLine(file, { seq: 3, hash: hash('a'), time: '2026-01-01T00:00:00.000Z', node: 'gw1' });
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"seq":4,"hash":"bb`, { flag: 'w' });
    expect(await newestAnchor(file)).toMatchObject({ seq: 3, hash: hash('a') });
    await appendAnchorLine(file, { seq: 5, hash: hash('c'), time: '2026-01-01T00:01:00.000Z', node: 'gw1' });
    expect(await newestAnchor(file)).toEqual({ seq: 5, hash: hash('c'), source: `anchor ${file}, written 2026-01-01T00:01:00.000Z by gw1` });
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(4);
  });

  it('names a file it cannot read', async () => {
    await expect(newestAnchor(join(temp.path, 'missing'))).rejects.toThrow(/the audit anchor file .*missing cannot be read \(ENOENT/);
  });
});
