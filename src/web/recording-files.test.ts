import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { WebError } from './errors.js';
import { fileSha256, locateRecording, parseRange } from './recording-files.js';

describe('parseRange', () => {
  it.each([
    [undefined, null],
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=5-', { start: 5, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=90-200', { start: 90, end: 99 }],
    ['bytes=100-', 'invalid'],
    ['bytes=9-5', 'invalid'],
    ['bytes=-0', 'invalid'],
    ['bytes=0-1,5-6', 'invalid'],
    ['items=0-1', 'invalid'],
  ])('%s of 100 bytes → %j', (header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });
});

describe('locateRecording', () => {
  const temp = makeTempDir('crec-');
  afterAll(() => temp.remove());
  const dir = join(temp.path, 'recordings');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'a.cast'), 'abc');
  writeFileSync(join(temp.path, 'outside.cast'), 'secret');
  symlinkSync(join(temp.path, 'outside.cast'), join(dir, 'link.cast'));

  it('finds files inside the recordings directory and hashes them', async () => {
    const file = await locateRecording(dir, join(dir, 'sub', 'a.cast'));
    expect(file.size).toBe(3);
    expect(await fileSha256(file)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([
    ['outside.cast', 'the recording is not in the recordings directory'],
    ['recordings/../outside.cast', 'the recording is not in the recordings directory'],
    ['recordings/link.cast', 'the recording is not in the recordings directory'],
    ['recordings/sub', 'the recording is not a file'],
    ['recordings/missing.cast', 'the recording file is missing'],
  ])('refuses %s', async (path, message) => {
    const error = await locateRecording(dir, join(temp.path, path)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(WebError);
    expect((error as WebError).message).toBe(message);
    expect((error as WebError).status).toBe(404);
  });
});
