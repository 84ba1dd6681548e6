import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { parseAsciicast, type AsciicastHeader } from './asciicast.js';
import { RecorderError } from './errors.js';
import { RecordingWriter } from './recording-writer.js';

const temp = makeTempDir('crec-');
afterAll(() => temp.remove());

function header(overrides: Partial<AsciicastHeader> = {}): AsciicastHeader {
  return {
    version: 2,
    width: 100,
    height: 30,
    timestamp: Math.floor(Date.now() / 1000),
    custos: {
      sessionId: 'ses_test',
      channelId: 0,
      channelKind: 'shell',
      protocol: 'ssh',
      identity: { name: 'alice', kind: 'human', owner: null },
      credential: 'ssh-key:SHA256:abc',
      target: 'web1',
      login: 'deploy',
      grant: null,
      node: 'test-node',
      clientAddr: '127.0.0.1',
      recordInput: false,
      pty: true,
    },
    ...overrides,
  };
}

let counter = 0;
const nextPath = () => join(temp.path, `r${counter++}`, 'ch0.cast');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('RecordingWriter', () => {
  it('writes a playable asciicast v2 file whose digest is returned at close', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const recorder = await writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined });
    recorder.output(Buffer.from('$ echo hello\r\n'));
    recorder.output(Buffer.from('hello\r\n'));
    recorder.input(Buffer.from('secret typed input'));
    recorder.resize(120, 40);
    const digest = await recorder.close({ code: 0, signal: null });
    await writer.stop();

    expect(digest.path).toBe(path);
    expect(digest.bytes).toBe(readFileSync(path).length);
    expect(digest.sha256).toBe(sha256(path));
    const cast = parseAsciicast(readFileSync(path, 'utf8'));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, custos: { sessionId: 'ses_test', login: 'deploy' } });
    expect(cast.invalidLines).toBe(0);
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toBe('$ echo hello\r\nhello\r\n');
    // Chunks inside one window become one event.
    expect(cast.events.filter((e) => e[1] === 'o')).toHaveLength(1);
    expect(cast.events.some((e) => e[1] === 'i')).toBe(false);
    expect(cast.events).toContainEqual([expect.any(Number), 'r', '120x40']);
    expect(cast.events.at(-1)?.slice(1)).toEqual(['m', 'exit status 0']);
    const times = cast.events.map((e) => e[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('records input only when asked to', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const recorder = await writer.open({ path, header: header(), recordInput: true, onFailure: () => undefined });
    recorder.input(Buffer.from('ls\r'));
    recorder.output(Buffer.from('file\r\n'));
    await recorder.close();
    await writer.stop();
    const events = parseAsciicast(readFileSync(path, 'utf8')).events;
    expect(events.map((e) => [e[1], e[2]])).toEqual([
      ['i', 'ls\r'],
      ['o', 'file\r\n'],
    ]);
  });

  it('keeps multibyte characters intact when output is split at every byte', async () => {
    const text = 'κόσμε 中文 🎉👩‍💻 ┌─┐ ü\r\n';
    const bytes = Buffer.from(text);
    // One event per chunk: a window of 0 ms and flushing after every byte.
    const writer = new RecordingWriter({ limits: { windowMs: 0, flushBytes: 1 } });
    for (let cut = 1; cut < bytes.length; cut++) {
      const path = nextPath();
      const recorder = await writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined });
      recorder.output(bytes.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 1));
      recorder.output(bytes.subarray(cut));
      await recorder.close();
      const events = parseAsciicast(readFileSync(path, 'utf8')).events.filter((e) => e[1] === 'o');
      expect(events.map((e) => e[2]).join('')).toBe(text);
      expect(events.map((e) => e[2]).join('')).not.toContain('\ufffd');
    }
    await writer.stop();
  });

  it('puts output on disk before the recording is closed', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const recorder = await writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined });
    recorder.output(Buffer.from('visible-before-close\r\n'));
    await waitFor(() => readFileSync(path, 'utf8').includes('visible-before-close'), { what: 'the output to reach the file' });
    await recorder.close();
    await writer.stop();
  });

  it('asks the producer to pause when the queue is over its bound, and releases it once written', async () => {
    const writer = new RecordingWriter({ limits: { highWaterBytes: 64 * 1024, flushBytes: 16 * 1024 } });
    const path = nextPath();
    const recorder = await writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    let accepted = 0;
    while (recorder.output(chunk)) accepted += 1;
    expect(accepted).toBeLessThan(8);
    await recorder.whenWritable();
    expect(recorder.output(chunk)).toBe(true);
    const digest = await recorder.close();
    await writer.stop();
    const output = parseAsciicast(readFileSync(path, 'utf8')).events.map((e) => e[2]).join('');
    expect(output.length).toBe((accepted + 2) * chunk.length);
    expect(digest.sha256).toBe(sha256(path));
  });

  it('refuses to open a recording where no file can be created', async () => {
    const blocker = join(temp.path, 'not-a-directory');
    writeFileSync(blocker, 'a file where the recordings directory should be');
    const writer = new RecordingWriter();
    const attempt = writer.open({ path: join(blocker, 'ses', 'ch0.cast'), header: header(), recordInput: false, onFailure: () => undefined });
    await expect(attempt).rejects.toBeInstanceOf(RecorderError);
    await expect(attempt).rejects.toThrow(/cannot write recording .*ENOTDIR/);
    await writer.stop();
  });

  it('never overwrites an existing recording', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const first = await writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined });
    await first.close();
    await expect(writer.open({ path, header: header(), recordInput: false, onFailure: () => undefined })).rejects.toThrow(/EEXIST/);
    await writer.stop();
  });
});
