import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionDetail } from '../../src/store/repositories/sessions.js';
import { readByteRecording, sftpTransfers } from '../helpers/recordings.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { runProcess, SCP, SFTP, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';

let f: SshFixture;
/** The target's file system is this machine's: sshd runs here, as the user running the tests. */
let remote: { path: string; remove(): void };
let local: string;

beforeAll(async () => {
  f = await startSshFixture();
  remote = makeTempDir('cfiles-');
  local = join(f.dir, 'local');
  mkdirSync(local);
});
afterAll(async () => {
  await f?.stop();
  remote?.remove();
});

const store = () => f.gateway.gateway.store;

async function sessionWith(predicate: (detail: SessionDetail) => boolean): Promise<SessionDetail> {
  return waitFor(
    async () => {
      for (const row of await store().sessions.list({ identity: 'alice', limit: 10 })) {
        if (row.state === 'live') continue;
        const detail = await store().sessions.detail(row.id);
        if (detail && predicate(detail)) return detail;
      }
      return undefined;
    },
    { timeoutMs: 20_000, what: 'the session of the transfer' },
  );
}

/**
 * What the transfer channel's recording holds of the file: byte for byte, rebuilt from the
 * SFTP packets, or found whole in the legacy scp stream (a `C` line, the bytes, a status byte).
 */
function recordedFile(detail: SessionDetail, direction: 'upload' | 'download', content: Buffer): boolean {
  const channel = detail.channels.find((c) => c.kind === 'sftp' || c.kind === 'scp')!;
  expect(channel.recordingPath).toMatch(/\.bytes$/);
  expect(channel.recordingSha256).toEqual(expect.any(String));
  const recording = readByteRecording(channel.recordingPath!);
  expect(recording.trailing).toBe(0);
  expect(recording.header.custos).toMatchObject({ channelKind: channel.kind, pty: false });
  expect(detail.session.stats).not.toHaveProperty('fileLogIncomplete');
  if (channel.kind === 'sftp') {
    const moved = sftpTransfers(recording);
    return (direction === 'upload' ? moved.written : moved.read).equals(content);
  }
  return (direction === 'upload' ? recording.stdin : recording.stdout).includes(content);
}

const ops = (detail: SessionDetail) => detail.fileOperations.map((op) => ({ operation: op.operation, path: op.path, bytes: op.bytes, result: op.result }));

describe.each([
  ['scp over SFTP (the OpenSSH 9 default)', [] as string[], 'sftp'],
  ['legacy scp (scp -O)', ['-O'], 'scp'],
])('%s', (_name, flags, channelKind) => {
  it('copies a file up and down with identical bytes and logs both transfers', async () => {
    const tag = channelKind;
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const source = join(local, `up-${tag}.bin`);
    writeFileSync(source, content);
    const scp = (...args: string[]) => runProcess(SCP, [...flags, '-P', String(f.port), ...f.sshOptions(f.keys.alice, ['-o', 'BatchMode=yes']), ...args]);

    const up = await scp(source, `web1@127.0.0.1:${remote.path}/`);
    expect(up.code, up.stderr).toBe(0);
    expect(readFileSync(join(remote.path, `up-${tag}.bin`)).equals(content)).toBe(true);
    const upload = await sessionWith((d) => d.channels.some((c) => c.kind === channelKind) && d.fileOperations.some((op) => op.path.endsWith(`up-${tag}.bin`)));
    expect(ops(upload)).toContainEqual({ operation: 'write', path: `${remote.path}/up-${tag}.bin`, bytes: content.length, result: 'ok' });
    if (channelKind === 'scp') expect(upload.channels[0]!.command).toMatch(/^scp .*-t/);
    expect(recordedFile(upload, 'upload', content)).toBe(true);

    const back = join(local, `down-${tag}.bin`);
    const down = await scp(`web1@127.0.0.1:${remote.path}/up-${tag}.bin`, back);
    expect(down.code, down.stderr).toBe(0);
    expect(readFileSync(back).equals(content)).toBe(true);
    const download = await sessionWith((d) => d.fileOperations.some((op) => op.operation === 'read' && op.path.endsWith(`up-${tag}.bin`)));
    expect(ops(download)).toContainEqual({ operation: 'read', path: `${remote.path}/up-${tag}.bin`, bytes: content.length, result: 'ok' });
    expect(recordedFile(download, 'download', content)).toBe(true);
  });

  it('logs a refused transfer as an error', async () => {
    const source = join(local, `refused-${channelKind}.txt`);
    writeFileSync(source, 'going nowhere\n');
    const target = `${remote.path}/no-such-dir/refused-${channelKind}.txt`;
    const result = await runProcess(SCP, [...flags, '-P', String(f.port), ...f.sshOptions(f.keys.alice, ['-o', 'BatchMode=yes']), source, `web1@127.0.0.1:${target}`]);
    expect(result.code).not.toBe(0);
    const detail = await sessionWith((d) => d.fileOperations.some((op) => op.path === target));
    expect(detail.fileOperations.find((op) => op.path === target)).toMatchObject({ result: 'error', error: expect.stringMatching(/no such file/i) });
  });
});

describe('sftp', () => {
  it('runs a batch of operations with identical bytes, each logged with path, bytes and result', async () => {
    const content = randomBytes(1024 * 1024 + 5);
    writeFileSync(join(local, 'put.bin'), content);
    writeFileSync(join(remote.path, 'get.txt'), 'fetch me\n');
    const batch = [
      `cd ${remote.path}`,
      'mkdir made',
      `put ${join(local, 'put.bin')} made/put.bin`,
      'rename made/put.bin made/renamed.bin',
      `get get.txt ${join(local, 'got.txt')}`,
      'rm get.txt',
      'ls made',
    ].join('\n');
    const result = await runProcess(SFTP, ['-b', '-', '-P', String(f.port), ...f.sshOptions(f.keys.alice, ['-o', 'BatchMode=yes']), 'web1@127.0.0.1'], { input: `${batch}\n` });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(remote.path, 'made/renamed.bin')).equals(content)).toBe(true);
    expect(readFileSync(join(local, 'got.txt'), 'utf8')).toBe('fetch me\n');

    const detail = await sessionWith((d) => d.fileOperations.some((op) => op.operation === 'rename'));
    expect(detail.channels).toMatchObject([{ kind: 'sftp', recordingPath: expect.stringMatching(/\.bytes$/) }]);
    expect(recordedFile(detail, 'upload', content)).toBe(true);
    expect(recordedFile(detail, 'download', Buffer.from('fetch me\n'))).toBe(true);
    const seen = ops(detail);
    const at = (name: string) => `${remote.path}/${name}`;
    expect(seen).toEqual(
      expect.arrayContaining([
        { operation: 'mkdir', path: at('made'), bytes: null, result: 'ok' },
        { operation: 'open', path: at('made/put.bin'), bytes: null, result: 'ok' },
        { operation: 'write', path: at('made/put.bin'), bytes: content.length, result: 'ok' },
        { operation: 'rename', path: at('made/put.bin'), bytes: null, result: 'ok' },
        { operation: 'read', path: at('get.txt'), bytes: 9, result: 'ok' },
        { operation: 'remove', path: at('get.txt'), bytes: null, result: 'ok' },
        { operation: 'list', path: at('made/'), bytes: null, result: 'ok' },
      ]),
    );
    expect(detail.fileOperations.find((op) => op.operation === 'rename')?.targetPath).toBe(at('made/renamed.bin'));
    expect(detail.session.stats).toMatchObject({ fileOperations: detail.fileOperations.length });
  });
});
