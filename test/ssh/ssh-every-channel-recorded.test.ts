import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionDetail } from '../../src/store/repositories/sessions.js';
import { readByteRecording } from '../helpers/recordings.js';
import { runProcess, SFTP, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What a command runs is the target shell's choice, not the gateway's: a channel whose
 * command looks like `scp -t PATH` can run anything. These reproduce the two ways an
 * operator got an unrecorded shell that way (issue 9, finding 1), through the real gateway
 * and a real sshd, and check that the channel's bytes are in its recording and that the
 * channel is flagged as one whose file transfer protocol could not be followed.
 */
let f: SshFixture;
/** The operator's writable directory on the target, and the HOME its shell reads `.bashrc` from. */
let target: { path: string; remove(): void };
let home: string;
let local: string;

beforeAll(async () => {
  target = makeTempDir('cbypass-');
  home = join(target.path, 'home');
  mkdirSync(home);
  // sshd runs the command with the account's shell (bash), which reads ~/.bashrc for commands
  // run by sshd; HOME points at a directory the test owns instead of the account's real one.
  f = await startSshFixture({ sshdConfig: [`SetEnv HOME=${home}`] });
  local = join(f.dir, 'local');
  mkdirSync(local);
});
afterAll(async () => {
  await f?.stop();
  target?.remove();
});

const store = () => f.gateway.gateway.store;

async function sessionWith(command: string): Promise<SessionDetail> {
  return waitFor(
    async () => {
      for (const row of await store().sessions.list({ identity: 'alice', limit: 20 })) {
        if (row.state === 'live') continue;
        const detail = await store().sessions.detail(row.id);
        if (detail?.channels.some((channel) => channel.command === command)) return detail;
      }
      return undefined;
    },
    { timeoutMs: 20_000, what: `the closed session of "${command}"` },
  );
}

/** Uploads files through the gateway with sftp, as the operator would. */
async function sftpUpload(commands: string[]): Promise<void> {
  const result = await runProcess(SFTP, ['-b', '-', '-P', String(f.port), ...f.sshOptions(f.keys.alice, ['-o', 'BatchMode=yes']), 'web1@127.0.0.1'], {
    input: `${commands.join('\n')}\n`,
  });
  expect(result.code, result.stderr).toBe(0);
}

async function expectFlagged(detail: SessionDetail, channelId: number, reason: RegExp): Promise<void> {
  expect(detail.session.stats).toMatchObject({ fileLogIncomplete: { [channelId]: expect.stringMatching(reason) } });
  const events = await store().audit.list({ sessionId: detail.session.id, type: 'ssh.file-log.incomplete' });
  expect(events.map((event) => event.data)).toEqual([{ channelId, reason: expect.stringMatching(reason) }]);
}

describe('a channel that claims to be scp', () => {
  it('is recorded when the target runs an uploaded executable named scp that starts a shell', async () => {
    const script = join(local, 'scp');
    writeFileSync(script, '#!/bin/sh\necho EXE-SCP-MARKER-$((6*7))\nexec sh\n');
    await sftpUpload([`mkdir ${target.path}/x`, `put ${script} ${target.path}/x/scp`, `chmod 755 ${target.path}/x/scp`]);

    const command = `${target.path}/x/scp -t x`;
    const typed = 'echo SHELL-$((2+3)); id -u\nexit\n';
    // -tt as in the report: a pty is asked for (file transfers run without one).
    const result = await f.run(f.keys.alice, 'web1', ['-tt', command], { input: typed });
    expect(result.stdout.toString()).toContain('EXE-SCP-MARKER-42');
    expect(result.stdout.toString()).toContain('SHELL-5');

    const detail = await sessionWith(command);
    const channel = detail.channels.find((c) => c.command === command)!;
    expect(channel).toMatchObject({ kind: 'scp', recordingPath: expect.stringMatching(/\.bytes$/), recordingSha256: expect.any(String) });
    const recording = readByteRecording(channel.recordingPath!);
    expect(recording.stdout.toString()).toContain('EXE-SCP-MARKER-42');
    expect(recording.stdout.toString()).toContain('SHELL-5');
    expect(recording.stdin.toString()).toBe(typed);
    expect(recording.exit).toEqual({ code: 0, signal: null });
    // Whichever side the observer sees first: the typed lines are no scp control lines, the
    // marker no acknowledgement.
    await expectFlagged(detail, channel.channelId, /unexpected scp control line|not acknowledgements/);
    // The session's end event seals the recording like any other.
    const end = (await store().audit.list({ sessionId: detail.session.id, type: 'session.end' }))[0];
    expect(end?.data).toMatchObject({ channelRecordings: [{ channelId: channel.channelId, sha256: channel.recordingSha256 }] });
  });

  it("is recorded when the target's shell runs a .bashrc function named scp", async () => {
    const bashrc = join(local, 'bashrc');
    writeFileSync(bashrc, 'scp() { echo FUNC-SCP-MARKER-$((6*7)) "$@"; }\n');
    await sftpUpload([`put ${bashrc} ${home}/.bashrc`]);

    const command = 'scp -t .';
    const result = await f.run(f.keys.alice, 'web1', [command]);
    expect(result.stdout.toString()).toBe('FUNC-SCP-MARKER-42 -t .\n');
    // A function ends at once: its exit status can arrive with the channel's confirmation.
    expect(result.code).toBe(0);

    const detail = await sessionWith(command);
    const channel = detail.channels.find((c) => c.command === command)!;
    expect(channel.kind).toBe('scp');
    const recording = readByteRecording(channel.recordingPath!);
    expect(recording.stdout.equals(result.stdout)).toBe(true);
    expect(recording.header).toMatchObject({ command, custos: { channelKind: 'scp', pty: false } });
    await expectFlagged(detail, channel.channelId, /not acknowledgements/);
    const shown = await f.gateway.cli(['sessions', 'show', detail.session.id]);
    expect(shown.stdout).toContain(`channel ${channel.channelId}   FILE LOG INCOMPLETE: the scp sink answered with bytes that are not acknowledgements`);
    expect(shown.stdout).toMatch(/byte recording: stdout 24 bytes text, stderr \d+ bytes[^,]*, stdin 0 bytes; exit status 0/);
  });
});
