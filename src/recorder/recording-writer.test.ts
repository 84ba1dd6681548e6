import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { parseAsciicast, type AsciicastHeader } from './asciicast.js';
import { FRAME_HEADER_BYTES, parseByteRecording, type ByteRecordingHeader } from './byte-recording.js';
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

function bytesHeader(): ByteRecordingHeader {
  const { custos } = header();
  return { version: 1, timestamp: Math.floor(Date.now() / 1000), command: 'tar c /srv', env: {}, custos: { ...custos, channelKind: 'exec', pty: false } };
}

let counter = 0;
const nextPath = () => join(temp.path, `r${counter++}`, 'ch0.cast');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('RecordingWriter', () => {
  it('writes a playable asciicast v2 file whose digest is returned at close', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const recorder = await writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
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
    const recorder = await writer.open({ path, format: 'asciicast', header: header(), recordInput: true, onFailure: () => undefined });
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
      const recorder = await writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
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
    const recorder = await writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
    recorder.output(Buffer.from('visible-before-close\r\n'));
    await waitFor(() => readFileSync(path, 'utf8').includes('visible-before-close'), { what: 'the output to reach the file' });
    await recorder.close();
    await writer.stop();
  });

  it('asks the producer to pause when the queue is over its bound, and releases it once written', async () => {
    const writer = new RecordingWriter({ limits: { highWaterBytes: 64 * 1024, flushBytes: 16 * 1024 } });
    const path = nextPath();
    const recorder = await writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
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
    const attempt = writer.open({ path: join(blocker, 'ses', 'ch0.cast'), format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
    await expect(attempt).rejects.toBeInstanceOf(RecorderError);
    await expect(attempt).rejects.toThrow(/cannot write recording .*ENOTDIR/);
    await writer.stop();
  });

  it('never overwrites an existing recording', async () => {
    const writer = new RecordingWriter();
    const path = nextPath();
    const first = await writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined });
    await first.close();
    await expect(writer.open({ path, format: 'asciicast', header: header(), recordInput: false, onFailure: () => undefined })).rejects.toThrow(/EEXIST/);
    await writer.stop();
  });
});

describe('RecordingWriter, byte recordings (channels without a terminal)', () => {
  it('keeps every byte of stdout, stderr and input exactly, in order, with the exit status, at little more than the payload', async () => {
    const writer = new RecordingWriter();
    const path = nextPath().replace(/\.cast$/, '.bytes');
    const recorder = await writer.open({ path, format: 'bytes', header: bytesHeader(), recordInput: true, onFailure: () => undefined });
    const stdout = randomBytes(3 * 1024 * 1024 + 7);
    // One chunk larger than a pooled batch buffer, after small ones: a batch of its own.
    const zeros = Buffer.alloc(2.5 * 1024 * 1024);
    recorder.input(Buffer.from('\x00\xff input'));
    for (let at = 0; at < stdout.length; at += 32_768) recorder.output(stdout.subarray(at, at + 32_768));
    recorder.output(Buffer.from('warning: \x1b[31mred\x1b[0m\n'), 'stderr');
    recorder.output(zeros);
    recorder.resize(100, 30);
    const digest = await recorder.close({ code: 3, signal: null });
    await writer.stop();

    const file = readFileSync(path);
    expect(digest).toEqual({ path, bytes: file.length, sha256: sha256(path) });
    const parsed = parseByteRecording(file);
    expect(parsed.trailing).toBe(0);
    expect(parsed.header).toMatchObject({ version: 1, command: 'tar c /srv', custos: { sessionId: 'ses_test', pty: false } });
    const stream = (code: string) => Buffer.concat(parsed.frames.filter((f) => f.stream === code).map((f) => f.data));
    expect(stream('o').equals(Buffer.concat([stdout, zeros]))).toBe(true);
    expect(stream('e').toString()).toBe('warning: \x1b[31mred\x1b[0m\n');
    expect(stream('i').equals(Buffer.from('\x00\xff input'))).toBe(true);
    expect(parsed.frames.at(-1)).toMatchObject({ stream: 'x' });
    expect(JSON.parse(parsed.frames.at(-1)!.data.toString())).toEqual({ code: 3, signal: null });
    // Output order is kept: input, stdout, stderr, stdout again, exit.
    const order = parsed.frames.map((f) => f.stream).filter((code, i, all) => code !== all[i - 1]);
    expect(order).toEqual(['i', 'o', 'e', 'o', 'x']);
    const times = parsed.frames.map((f) => f.micros);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Coalesced into large frames: the overhead is the header and 13 bytes a frame.
    const payload = stdout.length + zeros.length + 40;
    expect(parsed.frames.length).toBeLessThan(40);
    expect(file.length - payload).toBeLessThan(1024 + parsed.frames.length * FRAME_HEADER_BYTES);
  });

  it('leaves input out unless asked to record it', async () => {
    const writer = new RecordingWriter();
    const path = nextPath().replace(/\.cast$/, '.bytes');
    const recorder = await writer.open({ path, format: 'bytes', header: bytesHeader(), recordInput: false, onFailure: () => undefined });
    recorder.input(Buffer.from('upload'));
    recorder.output(Buffer.from('ok'));
    await recorder.close(null);
    await writer.stop();
    expect(parseByteRecording(readFileSync(path)).frames.map((f) => [f.stream, f.data.toString()])).toEqual([['o', 'ok']]);
  });

  it('applies backpressure to bulk output and keeps every byte in order', async () => {
    const writer = new RecordingWriter({ limits: { highWaterBytes: 2 * 1024 * 1024, flushBytes: 256 * 1024 } });
    const path = nextPath().replace(/\.cast$/, '.bytes');
    const recorder = await writer.open({ path, format: 'bytes', header: bytesHeader(), recordInput: false, onFailure: () => undefined });
    const payload = randomBytes(12 * 1024 * 1024);
    let paused = 0;
    for (let at = 0; at < payload.length; at += 32 * 1024) {
      if (recorder.output(payload.subarray(at, at + 32 * 1024))) continue;
      paused += 1;
      await recorder.whenWritable();
    }
    await recorder.close(null);
    await writer.stop();
    expect(paused).toBeGreaterThan(0);
    const frames = parseByteRecording(readFileSync(path)).frames;
    expect(Buffer.concat(frames.map((f) => f.data)).equals(payload)).toBe(true);
  });
});
