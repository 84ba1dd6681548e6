import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { FRAME_HEADER_BYTES, headerBytes, parseByteRecording, readFrameHeader, writeFrameHeader, type ByteRecordingHeader, type FrameStream } from './byte-recording.js';
import { openByteRecording } from './byte-recording-reader.js';
import { finalizeRecordingFile } from './recording-finalize.js';

const temp = makeTempDir('cfin-');
afterAll(() => temp.remove());

const header: ByteRecordingHeader = {
  version: 1,
  timestamp: 1_700_000_000,
  command: 'cat /bin/ls',
  env: {},
  custos: {
    sessionId: 'ses_x',
    channelId: 1,
    channelKind: 'exec',
    protocol: 'ssh',
    identity: { name: 'alice', kind: 'human', owner: null },
    credential: 'ssh-key:SHA256:x',
    target: 'web1',
    login: 'deploy',
    grant: null,
    node: 'n',
    clientAddr: null,
    recordInput: true,
    pty: false,
  },
};

function frame(stream: FrameStream, micros: number, data: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  writeFrameHeader(head, 0, stream, micros, data.length);
  return Buffer.concat([head, data]);
}

const frames = [frame('o', 10, Buffer.from([0, 1, 2, 0x0a, 0xff])), frame('e', 2 ** 33 + 5, Buffer.from('err\n')), frame('x', 2 ** 33 + 9, Buffer.from('{"code":0,"signal":null}'))];
const head = headerBytes(header);
const whole = Buffer.concat([head, ...frames]);
/** Offsets where a complete frame ends (the header's end included). */
const boundaries = frames.reduce((ends, f) => [...ends, ends.at(-1)! + f.length], [head.length]);
let counter = 0;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('byte recording frames', () => {
  it('encode and decode the stream, a 64-bit time and the length', () => {
    const parsed = parseByteRecording(whole);
    expect(parsed.trailing).toBe(0);
    expect(parsed.header).toEqual(header);
    expect(parsed.frames.map((f) => [f.stream, f.micros, f.data.toString('hex')])).toEqual([
      ['o', 10, '0001020aff'],
      ['e', 2 ** 33 + 5, Buffer.from('err\n').toString('hex')],
      ['x', 2 ** 33 + 9, Buffer.from('{"code":0,"signal":null}').toString('hex')],
    ]);
    expect(readFrameHeader(Buffer.alloc(FRAME_HEADER_BYTES), 0)).toBeNull();
  });

  it('are read back from a file in order, payloads included or not', async () => {
    const path = join(temp.path, 'read.bytes');
    writeFileSync(path, whole);
    const recording = await openByteRecording(path);
    const seen = [];
    for await (const f of recording.frames()) seen.push([f.stream, f.offset, f.data!.length]);
    const offsets = [];
    for await (const f of recording.frames(false)) offsets.push([f.offset, f.data]);
    await recording.close();
    expect(recording.header).toEqual(header);
    expect(seen).toEqual([
      ['o', boundaries[0], 5],
      ['e', boundaries[1], 4],
      ['x', boundaries[2], 24],
    ]);
    expect(offsets).toEqual(boundaries.slice(0, 3).map((at) => [at, null]));
  });
});

describe('finalizeRecordingFile', () => {
  it('cuts a byte recording torn at any byte back to its last complete frame', async () => {
    for (let cut = head.length; cut <= whole.length; cut++) {
      const path = join(temp.path, `torn-${counter++}.bytes`);
      writeFileSync(path, whole.subarray(0, cut));
      const digest = await finalizeRecordingFile(path);
      const kept = boundaries.filter((end) => end <= cut).at(-1)!;
      const onDisk = readFileSync(path);
      expect(onDisk.length, `cut at ${cut}`).toBe(kept);
      expect(digest).toEqual({ path, bytes: kept, sha256: sha256(onDisk) });
      expect(parseByteRecording(onDisk).trailing).toBe(0);
    }
  });

  it('cuts a byte recording whose header is torn to nothing, as a torn asciicast header line', async () => {
    for (const cut of [1, 10, head.length - 1]) {
      const path = join(temp.path, `torn-head-${counter++}.bytes`);
      writeFileSync(path, whole.subarray(0, cut));
      expect((await finalizeRecordingFile(path)).bytes).toBe(0);
    }
  });

  it('cuts what is not a frame (zeros a crash left after the last write)', async () => {
    const path = join(temp.path, `zeros-${counter++}.bytes`);
    writeFileSync(path, Buffer.concat([whole, Buffer.alloc(4096)]));
    expect((await finalizeRecordingFile(path)).bytes).toBe(whole.length);
  });

  it('leaves a complete recording as it is', async () => {
    const path = join(temp.path, `whole-${counter++}.bytes`);
    writeFileSync(path, whole);
    expect(await finalizeRecordingFile(path)).toEqual({ path, bytes: whole.length, sha256: sha256(whole) });
  });

  it('still cuts a torn asciicast line after its last newline', async () => {
    const path = join(temp.path, `torn-${counter++}.cast`);
    const lines = '{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "a"]\n';
    writeFileSync(path, `${lines}[0.2, "o", "tor`);
    expect((await finalizeRecordingFile(path)).bytes).toBe(Buffer.byteLength(lines));
  });
});
