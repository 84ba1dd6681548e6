import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../src/recorder/asciicast.js';
import { custosCommand, REPO_ROOT } from '../helpers/cli.js';
import { prepareGatewayFiles, spawnGateway, type TestGatewayFiles } from '../helpers/gateway.js';
import { spawnInPty } from '../helpers/pty.js';
import { readByteRecording } from '../helpers/recordings.js';
import { waitFor } from '../helpers/wait.js';
import { SSH, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';

let f: SshFixture;
beforeAll(async () => {
  f = await startSshFixture();
});
afterAll(async () => {
  await f?.stop();
});

const store = () => f.gateway.gateway.store;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('many sessions at once', () => {
  it('records 50 concurrent sessions, each completely', async () => {
    const count = 50;
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => f.run(f.keys.alice, 'web1', [`echo concurrent-${i}-start; sleep 1; echo concurrent-${i}-end`], { timeoutMs: 120_000 })),
    );
    results.forEach((result, i) => {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.toString()).toBe(`concurrent-${i}-start\nconcurrent-${i}-end\n`);
    });
    const sessions = await waitFor(
      async () => {
        const rows = (await store().sessions.list({ identity: 'alice', limit: 200 })).filter((row) => row.state === 'closed' && row.recordingPath);
        const found = new Map<number, (typeof rows)[number]>();
        for (const row of rows) {
          const match = /^echo concurrent-(\d+)-start/.exec(readByteRecording(row.recordingPath!).header.command ?? '');
          if (match) found.set(Number(match[1]), row);
        }
        return found.size === count ? found : undefined;
      },
      { timeoutMs: 30_000, what: `${count} closed, recorded sessions` },
    ).catch(async (err: Error) => {
      const rows = await store().sessions.list({ identity: 'alice', limit: 200 });
      const describe = (r: (typeof rows)[number]) => {
        const recording = r.recordingPath ? readByteRecording(r.recordingPath) : null;
        return `${r.id} ${r.state} ${r.recordingPath ?? 'no recording'} ${JSON.stringify(recording?.header.command)} ${JSON.stringify(recording?.stdout.toString().slice(0, 60))}`;
      };
      throw new Error(`${err.message}; sessions:\n${rows.map(describe).join('\n')}`);
    });
    for (const [i, row] of sessions) {
      // Stdout exactly as the client got it (stderr apart: the target's shell start-up may add to it).
      expect(readByteRecording(row.recordingPath!).stdout.toString()).toBe(`concurrent-${i}-start\nconcurrent-${i}-end\n`);
      expect(row.recordingSha256).toBe(sha256(row.recordingPath!));
    }
  });
});

describe('recordings that cannot be written', () => {
  /** Runs `run` while the recordings directory is a file (nothing can be recorded). */
  async function withoutRecordings(run: () => Promise<void>): Promise<void> {
    const dir = f.gateway.config.recordings.dir;
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'a file where the recordings directory should be\n');
    try {
      await run();
    } finally {
      rmSync(dir, { force: true });
      mkdirSync(dir, { recursive: true });
    }
  }

  const refusal = /custos: this session cannot be recorded \(cannot write recording .*ENOTDIR.*\); Custos does not run sessions unrecorded/;

  it('refuses to run a session when its recording cannot be created', async () => {
    await withoutRecordings(async () => {
      const result = await f.run(f.keys.alice, 'web1', ['echo must-not-run-unrecorded']);
      expect(result.stdout.toString()).toBe('');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(refusal);
      const [session] = await waitFor(async () => {
        const rows = await store().sessions.list({ identity: 'alice', limit: 1 });
        return rows[0]?.state === 'closed' ? rows : undefined;
      });
      expect(session!.endReason).toMatch(/^recording failed: cannot write recording/);
    });
  });

  it('tells a slow client why as well: the connection ends only after the client answered the close', async () => {
    // Hands the gateway's bytes to ssh in one batch per 300 ms, as a slow link does: OpenSSH
    // then reads the channel close and the disconnect together.
    const proxy = join(f.dir, 'batching-proxy.cjs');
    writeFileSync(proxy, BATCHING_PROXY);
    await withoutRecordings(async () => {
      const result = await f.run(f.keys.alice, 'web1', ['echo must-not-run-unrecorded'], {
        extra: ['-o', `ProxyCommand=${process.execPath} ${proxy} 127.0.0.1 ${f.port}`],
      });
      expect(result.stderr).toMatch(refusal);
      expect(result.code).toBe(1);
    });
  });
});

const BATCHING_PROXY = `
const socket = require('node:net').connect(Number(process.argv[3]), process.argv[2]);
process.stdin.pipe(socket);
let pending = [];
let timer = null;
const flush = () => {
  clearTimeout(timer);
  timer = null;
  if (pending.length) process.stdout.write(Buffer.concat(pending));
  pending = [];
};
socket.on('data', (data) => {
  pending.push(data);
  timer ??= setTimeout(flush, 300);
});
socket.on('end', () => {
  flush();
  process.stdout.end();
});
socket.on('error', () => process.exit(1));
`;

/** `custos start` as a child process whose files may not grow beyond `limitKb` (RLIMIT_FSIZE). */
function spawnLimitedGateway(files: TestGatewayFiles, limitKb: number) {
  const { command, args } = custosCommand(['start', '--config', files.configPath]);
  const quoted = [command, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('bash', ['-c', `ulimit -f ${limitKb}; exec ${quoted}`], { cwd: REPO_ROOT, env: { ...process.env, CUSTOS_LOG_LEVEL: 'info' } });
  let logs = '';
  child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  return { child, logs: () => logs };
}

describe('the gateway process', () => {
  it('ends a session whose recording fails part way (file size limit), telling the operator', async () => {
    const files = await prepareGatewayFiles({ settings: { listen: { ssh: '127.0.0.1:0', web: 'off' } } });
    // Store files stay below 32 MiB (WAL segments are 16 MiB); the recording outgrows it.
    const gateway = spawnLimitedGateway(files, 32 * 1024);
    try {
      const ready = await waitFor(() => gateway.logs().split('\n').find((line) => line.includes('"custos is ready"')), { timeoutMs: 60_000, what: 'the gateway' });
      const port = Number(/"ssh":"[^"]*:(\d+)"/.exec(ready)![1]);
      await copyResources(files);
      const result = await new Promise<{ code: number | null; bytes: number; stderr: string }>((resolve) => {
        const child = spawn(SSH, f.sshArgsVia({ port, dataDir: files.dataDir }, f.keys.alice, 'web1', ['head -c 60000000 /dev/zero | tr "\\\\0" x'], ['-o', 'BatchMode=yes']));
        let bytes = 0;
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, bytes, stderr }));
      });
      expect(result.stderr).toMatch(/custos: this session is ended because it can no longer be recorded \(cannot write recording .*EFBIG/);
      expect(result.bytes).toBeLessThan(60_000_000);
      const shown = await waitFor(async () => {
        const listed = await files.cli(['sessions', 'ls', '--identity', 'alice', '--format', 'json']);
        const row = JSON.parse(listed.stdout.trim().split('\n')[0]!) as { id: string; state: string; endReason: string; recordingPath: string; recordingSha256: string };
        return row.state === 'closed' ? row : undefined;
      });
      expect(shown.endReason).toMatch(/^recording failed: cannot write recording .*EFBIG/);
      // What reached the disk is final and digested.
      expect(shown.recordingSha256).toBe(sha256(shown.recordingPath));
      // Cut back to its last complete frame (a write failed part way through one).
      expect(shown.recordingPath).toMatch(/\.bytes$/);
      const recording = readByteRecording(shown.recordingPath);
      expect(recording.trailing).toBe(0);
      expect(recording.stdout.length).toBeGreaterThan(0);
      expect(recording.stdout.every((byte) => byte === 0x78)).toBe(true);
    } finally {
      gateway.child.kill('SIGKILL');
      files.remove();
    }
  });

  it('marks sessions interrupted by a crash, finalizes their recordings (a torn end cut off) and keeps what was recorded', async () => {
    const files = await prepareGatewayFiles({ settings: { listen: { ssh: '127.0.0.1:0', web: 'off' } } });
    let exec: ChildProcess | null = null;
    try {
      const first = await spawnGateway(files);
      const port = Number(first.addresses.ssh!.split(':').at(-1));
      await copyResources(files);
      const args = f.sshArgsVia({ port, dataDir: files.dataDir }, f.keys.alice, 'web1');
      const term = spawnInPty(SSH, args);
      const notice = await term.waitFor(/\(session (ses_[a-z0-9]+)\)/);
      const id = /\(session (ses_[a-z0-9]+)\)/.exec(notice)![1]!;
      term.write('echo BEFORE-$((40+2))-CRASH\r');
      await term.waitFor('BEFORE-42-CRASH');
      // A channel without a terminal, streaming binary output when the gateway dies.
      const streaming = 'printf "BYTES-BEFORE-CRASH\\0\\377"; while head -c 65536 /dev/urandom; do sleep 0.05; done';
      exec = spawn(SSH, f.sshArgsVia({ port, dataDir: files.dataDir }, f.keys.alice, 'web1', [streaming], ['-o', 'BatchMode=yes']));
      exec.stdout!.resume();
      // Recordings reach the disk within a second: wait until both show what was sent.
      const recordings = join(files.dataDir, 'recordings');
      const execPath = await waitFor(
        () =>
          readdirSync(recordings, { recursive: true, encoding: 'utf8' })
            .filter((name) => name.endsWith('.bytes'))
            .map((name) => join(recordings, name))
            .find((path) => readFileSync(path).includes(Buffer.from('BYTES-BEFORE-CRASH\0\xff', 'latin1'))),
        { what: 'the exec recording on disk' },
      );
      const execSession = { id: /(ses_[a-z0-9]+)\.\d+\.bytes$/.exec(execPath)![1]!, recordingPath: execPath };
      const castPath = join(dirname(execSession.recordingPath), `${id}.0.cast`);
      await waitFor(() => readFileSync(castPath, 'utf8').includes('BEFORE-42-CRASH'), { what: 'the shell recording on disk' });
      await first.kill();
      await term.exited;
      // Torn ends as a crash in the middle of a write leaves them: half a frame, half a line.
      const tornFrame = Buffer.alloc(20);
      tornFrame.write('o', 0, 'latin1');
      tornFrame.writeUInt32BE(1000, 9);
      appendFileSync(execSession.recordingPath, tornFrame);
      appendFileSync(castPath, '[99.5, "o", "torn');

      const second = await spawnGateway(files);
      try {
        const shown = await files.cli(['sessions', 'show', id, '--format', 'json']);
        expect(shown.code, shown.stderr).toBe(0);
        const show = JSON.parse(shown.stdout) as {
          session: { state: string; endReason: string; recordingPath: string; recordingSha256: string };
          recording: { matches: boolean };
          channels: Array<{ endedAt: string | null; recordingSha256: string | null }>;
          endEvent: { type: string; agreesWithRow: boolean };
        };
        expect(show.session.state).toBe('interrupted');
        expect(show.session.endReason).toContain('the gateway stopped while the session was live');
        expect(show.recording.matches).toBe(true);
        expect(show.channels[0]).toMatchObject({ endedAt: expect.any(String), recordingSha256: show.session.recordingSha256 });
        expect(show.endEvent).toMatchObject({ type: 'session.interrupted', agreesWithRow: true });
        const cast = parseAsciicast(readFileSync(show.session.recordingPath, 'utf8'));
        expect(cast.invalidLines).toBe(0);
        expect(cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toContain('BEFORE-42-CRASH');

        const execShown = await files.cli(['sessions', 'show', execSession.id, '--format', 'json']);
        const execShow = JSON.parse(execShown.stdout) as typeof show;
        expect(execShow.session.state).toBe('interrupted');
        expect(execShow.recording.matches).toBe(true);
        const recording = readByteRecording(execSession.recordingPath);
        expect(recording.trailing).toBe(0);
        expect(recording.stdout.subarray(0, 20).toString('latin1')).toBe('BYTES-BEFORE-CRASH\0\xff');
        expect(execShow.session.recordingSha256).toBe(sha256(execSession.recordingPath));
        const verify = await files.cli(['verify']);
        expect(verify.code, verify.stdout).toBe(0);
      } finally {
        await second.stop();
      }
    } finally {
      exec?.kill();
      files.remove();
    }
  });
});

/** The fixture's resources, applied to another gateway through its CLI. */
async function copyResources(files: TestGatewayFiles): Promise<void> {
  const path = `${files.dataDir}/resources.yaml`;
  writeFileSync(path, f.resources);
  const applied = await files.cli(['apply', '-f', path]);
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
}
