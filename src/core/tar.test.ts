import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { isSafeName, readTar, TarError, TarWriter } from './tar.js';

const temp = makeTempDir('ctar-');
afterAll(() => temp.remove());

async function readAll(path: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  await readTar(createReadStream(path) as AsyncIterable<Buffer>, async (entry) => {
    const parts: Buffer[] = [];
    return {
      write: async (data) => void parts.push(Buffer.from(data)),
      end: async () => void (files[entry.name] = Buffer.concat(parts)),
    };
  });
  return files;
}

async function writeArchive(path: string, build: (tar: TarWriter) => Promise<void>): Promise<void> {
  const out = createWriteStream(path);
  const tar = new TarWriter(out);
  await build(tar);
  await tar.finish();
  out.end();
  await finished(out);
}

describe('ustar archives', () => {
  const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

  it('writes what GNU tar lists and extracts byte for byte, and reads its own archives back', async () => {
    const path = join(temp.path, 'ours.tar');
    await writeArchive(path, async (tar) => {
      await tar.addBuffer('manifest.json', Buffer.from('{"a":1}\n'));
      await tar.addBuffer('empty.txt', Buffer.alloc(0));
      const stream = new PassThrough();
      stream.end(payload);
      await tar.addStream('recordings/ses_1/ses_1.0.bytes', payload.length, stream as AsyncIterable<Buffer>);
    });
    expect(execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n')).toEqual(['manifest.json', 'empty.txt', 'recordings/ses_1/ses_1.0.bytes']);
    const out = join(temp.path, 'gnu-out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', path, '-C', out]);
    expect(readFileSync(join(out, 'recordings/ses_1/ses_1.0.bytes')).equals(payload)).toBe(true);
    const read = await readAll(path);
    expect(Object.keys(read)).toEqual(['manifest.json', 'empty.txt', 'recordings/ses_1/ses_1.0.bytes']);
    expect(read['recordings/ses_1/ses_1.0.bytes']!.equals(payload)).toBe(true);
    expect(read['empty.txt']!.length).toBe(0);
  });

  it('reads an archive GNU tar made (ustar format), split into small chunks', async () => {
    const dir = join(temp.path, 'gnu-in');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'data.bin'), payload);
    const path = join(temp.path, 'gnu.tar');
    execFileSync('tar', ['--format=ustar', '-cf', path, '-C', dir, 'sub/data.bin']);
    const files: Record<string, Buffer> = {};
    const bytes = readFileSync(path);
    const chunks = (async function* () {
      for (let i = 0; i < bytes.length; i += 77) yield bytes.subarray(i, i + 77);
    })();
    await readTar(chunks, async (entry) => {
      const parts: Buffer[] = [];
      return { write: async (d) => void parts.push(Buffer.from(d)), end: async () => void (files[entry.name] = Buffer.concat(parts)) };
    });
    expect(files['sub/data.bin']!.equals(payload)).toBe(true);
  });

  it('refuses links, unsafe names, damaged headers and truncated archives, naming the entry', async () => {
    const dir = join(temp.path, 'links');
    mkdirSync(dir);
    writeFileSync(join(dir, 'real'), 'x');
    execFileSync('ln', ['-s', '/etc/passwd', join(dir, 'link')]);
    const linked = join(temp.path, 'link.tar');
    execFileSync('tar', ['--format=ustar', '-cf', linked, '-C', dir, 'link']);
    await expect(readAll(linked)).rejects.toThrow(/link is not a regular file/);

    const ours = join(temp.path, 'damaged.tar');
    await writeArchive(ours, (tar) => tar.addBuffer('a.txt', Buffer.from('hello')));
    const damaged = readFileSync(ours);
    damaged[0] = 'b'.charCodeAt(0);
    writeFileSync(ours, damaged);
    await expect(readAll(ours)).rejects.toThrow(/checksum mismatch/);
    const cut = join(temp.path, 'cut.tar');
    writeFileSync(cut, readFileSync(join(temp.path, 'ours.tar')).subarray(0, 1200));
    await expect(readAll(cut)).rejects.toThrow(TarError);

    expect(['../x', '/etc/passwd', 'a/../b', 'a//b', 'a\\b', 'a\nb', './a'].map(isSafeName)).toEqual([false, false, false, false, false, false, false]);
    expect(isSafeName('recordings/ses_1/a.cast')).toBe(true);
  });
});
