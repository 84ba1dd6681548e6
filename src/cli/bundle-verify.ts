import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { readTar, TarError } from '../core/tar.js';
import { checkBundle, type BundleVerdict, type ExtractedBundle } from '../recorder/bundle/bundle-checks.js';
import type { Checkpoint } from '../recorder/chain-checkpoints.js';

/**
 * `custos verify --bundle FILE`: unpacks the bundle into a private temporary directory,
 * hashing every file as it is read, checks it (recorder/bundle/bundle-checks.ts) and removes
 * the directory. Needs neither the store nor a gateway.
 */
export async function verifyBundleFile(path: string, options: { expectHeads: Checkpoint[] }): Promise<BundleVerdict> {
  const dir = await mkdtemp(join(tmpdir(), 'custos-bundle-'));
  try {
    let extracted: ExtractedBundle;
    try {
      extracted = await extract(path, dir);
    } catch (err) {
      const message = err instanceof TarError || (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' ? (err as Error).message : `cannot read ${path}: ${(err as Error).message}`;
      return { ok: false, lines: [], problem: `${path} is not a readable bundle: ${message}`, head: null };
    }
    return await checkBundle(extracted, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function extract(path: string, dir: string): Promise<ExtractedBundle> {
  const files: ExtractedBundle['files'] = [];
  const seen = new Set<string>();
  const source = createReadStream(path).pipe(createGunzip());
  await readTar(source as AsyncIterable<Buffer>, async (entry) => {
    if (seen.has(entry.name)) throw new TarError(`${entry.name} appears twice in the archive`);
    seen.add(entry.name);
    const target = join(dir, entry.name);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const handle = await open(target, 'wx', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    return {
      write: async (data) => {
        hash.update(data);
        bytes += data.length;
        await handle.write(data);
      },
      end: async () => {
        await handle.close();
        files.push({ path: entry.name, bytes, sha256: hash.digest('hex') });
      },
    };
  });
  return { dir, files };
}
