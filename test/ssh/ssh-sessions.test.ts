import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../src/recorder/asciicast.js';
import type { SessionDetail } from '../../src/store/repositories/sessions.js';
import { spawnInPty } from '../helpers/pty.js';
import { readByteRecording } from '../helpers/recordings.js';
import { waitFor } from '../helpers/wait.js';
import { SSH, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';

let f: SshFixture;
/** The interactive session recorded by the first test, reviewed by the CLI tests. */
let shellSession: SessionDetail | null = null;
beforeAll(async () => {
  f = await startSshFixture();
});
afterAll(async () => {
  await f?.stop();
});

const store = () => f.gateway.gateway.store;

/** The newest ssh session of an identity once it is closed, with its channels and rows. */
async function lastSession(identity: string, predicate: (detail: SessionDetail) => boolean = () => true): Promise<SessionDetail> {
  return waitFor(
    async () => {
      for (const row of await store().sessions.list({ identity, limit: 20 })) {
        if (row.state === 'live') continue;
        const detail = await store().sessions.detail(row.id);
        if (detail && predicate(detail)) return detail;
      }
      return undefined;
    },
    { timeoutMs: 20_000, what: `a closed session of ${identity}` },
  );
}

function castOf(path: string) {
  return parseAsciicast(readFileSync(path, 'utf8'));
}

const outputOf = (path: string) =>
  castOf(path)
    .events.filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');

describe('interactive shell', () => {
  it('shows the notice, bridges a terminal, records output, input and resizes, and closes the session with its digest', async () => {
    const term = spawnInPty(SSH, f.sshArgs(f.keys.alice, `${f.login}@web1`), { cols: 100, rows: 30 });
    await term.waitFor(/this session is recorded \(session ses_[a-z0-9]+\)/);
    term.write('echo MARK-$((6*7))\r');
    await term.waitFor('MARK-42');
    // While live, the session row already names its recording (the viewer reads it).
    const [live] = await store().sessions.list({ identity: 'alice', state: 'live' });
    expect(live?.recordingPath).toMatch(/\/ses_[a-z0-9]+\.0\.cast$/);
    term.resize(120, 40);
    // The window change travels on its own; ask until the shell sees it.
    await waitFor(async () => {
      term.write('stty size\r');
      return term.waitFor('40 120', 500).then(
        () => true,
        () => false,
      );
    }, { what: 'the shell to see the new size' });
    term.write('exit\r');
    await term.exited;

    const detail = await lastSession('alice', (d) => d.channels.some((c) => c.kind === 'shell'));
    shellSession = detail;
    const { session, channels } = detail;
    expect(session).toMatchObject({ protocol: 'ssh', state: 'closed', identityName: 'alice', identityKind: 'human', target: 'web1', login: f.login, node: 'test-node' });
    expect(session.credentialId).toMatch(/^ssh-key:SHA256:/);
    const shell = channels.find((c) => c.kind === 'shell')!;
    expect(shell.pty).toMatchObject({ cols: 100, rows: 30 });
    expect(shell.recordingPath).toBe(session.recordingPath);
    expect(existsSync(shell.recordingPath!)).toBe(true);

    const file = readFileSync(shell.recordingPath!);
    expect(session.recordingSha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(session.recordingBytes).toBe(file.length);
    expect(shell.recordingSha256).toBe(session.recordingSha256);

    const cast = castOf(shell.recordingPath!);
    expect(cast.header).toMatchObject({
      version: 2,
      width: 100,
      height: 30,
      custos: {
        sessionId: session.id,
        identity: { name: 'alice', kind: 'human', owner: null },
        credential: session.credentialId,
        target: 'web1',
        login: f.login,
        node: 'test-node',
        grant: null,
        recordInput: true,
        pty: true,
      },
    });
    const output = outputOf(shell.recordingPath!);
    expect(output).toContain(`session ${session.id}`);
    expect(output).toContain('MARK-42');
    const input = cast.events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');
    expect(input).toContain('echo MARK-$((6*7))');
    expect(cast.events).toContainEqual([expect.any(Number), 'r', '120x40']);

    const end = (await store().audit.list({ sessionId: session.id })).find((e) => e.type === 'session.end');
    expect(end?.data).toMatchObject({ recording: { path: shell.recordingPath, sha256: session.recordingSha256 } });
  });
});

describe('exec', () => {
  it.each([
    ['exit 0', { code: 0, signal: null }],
    ['echo out; echo err >&2; exit 7', { code: 7, signal: null }],
    ['kill -TERM $$', { code: null, signal: 'TERM' }],
    ['kill -KILL $$', { code: null, signal: 'KILL' }],
  ])('%s: exit status, signal, stdout and stderr as with direct OpenSSH, and recorded byte for byte', async (command, exit) => {
    const direct = await f.runDirect([command]);
    const via = await f.run(f.keys.alice, `${f.login}@web1`, [command]);
    expect(via.code).toBe(direct.code);
    expect(via.stdout.toString()).toBe(direct.stdout.toString());
    // Stderr is compared by content: the target's shell start-up may add lines of its own.
    if (command.includes('>&2')) expect([direct.stderr, via.stderr].map((text) => text.includes('err\n'))).toEqual([true, true]);

    const detail = await lastSession('alice', (d) => d.channels.some((c) => c.command === command));
    const channel = detail.channels.find((c) => c.command === command)!;
    expect(channel.kind).toBe('exec');
    // Without a terminal the recording is a byte recording: streams apart, bytes as they passed.
    expect(channel.recordingPath).toMatch(/\/ses_[a-z0-9]+\.\d+\.bytes$/);
    const recording = readByteRecording(channel.recordingPath!);
    expect(recording.trailing).toBe(0);
    expect(recording.header.command).toBe(command);
    expect(recording.header.custos).toMatchObject({ channelKind: 'exec', pty: false, recordInput: true });
    expect(recording.exit).toEqual(exit);
    expect(recording.frames.at(-1)?.stream).toBe('x');
    expect(recording.stdout.equals(via.stdout)).toBe(true);
    if (exit.signal) expect(channel.exitSignal).toBe(exit.signal);
    else expect(channel.exitCode).toBe(exit.code);
    if (command.includes('echo')) expect(recording.stderr.toString()).toContain('err\n');
    expect(channel.recordingSha256).toBe(createHash('sha256').update(readFileSync(channel.recordingPath!)).digest('hex'));
  });

  it('passes standard input through and ends it with EOF', async () => {
    const input = Buffer.alloc(300_000, 'abcdefghij');
    const result = await f.run(f.keys.alice, `${f.login}@web1`, ['wc -c'], { input });
    expect(result.stdout.toString().trim()).toBe(String(input.length));
    expect(result.code).toBe(0);
  });

  it('records binary output and input byte for byte', async () => {
    const input = Buffer.concat([Buffer.from('€ü中🎉'.repeat(30_000)), Buffer.from([0, 0xff, 0x1b, 0x0d, 0x0a, 0xc3]), Buffer.alloc(100_000)]);
    const result = await f.run(f.keys.alice, `${f.login}@web1`, ['cat'], { input });
    expect(result.stdout.equals(input)).toBe(true);
    const detail = await lastSession('alice', (d) => d.channels.some((c) => c.command === 'cat'));
    const recording = readByteRecording(detail.channels.find((c) => c.command === 'cat')!.recordingPath!);
    expect(recording.stdout.equals(input)).toBe(true);
    expect(recording.stdin.equals(input)).toBe(true);
    expect(recording.exit).toEqual({ code: 0, signal: null });
  });

  it('passes LANG, LC_* and TERM on and nothing else', async () => {
    const command = 'echo "$LANG/$LC_TIME/${FOO:-unset}"';
    const result = await f.run(f.keys.alice, `${f.login}@web1`, [command], {
      extra: ['-o', 'SetEnv=LANG=C.UTF-8 LC_TIME=C FOO=bar'],
    });
    expect(result.stdout.toString()).toBe('C.UTF-8/C/unset\n');
  });

  it('passes signal requests on to the target', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: f.port,
        username: `${f.login}@web1`,
        privateKey: readFileSync(f.keys.alice.privatePath),
        hostVerifier: () => true,
      });
    });
    // OpenSSH's client cannot send signal requests; an ssh2 client can.
    const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
            // Bounded, so the target process never outlives the test (closing the channel of a
      // command without a terminal does not end it).
      client.exec('trap "echo got-TERM; exit 9" TERM; echo ready; i=0; while [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done', (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    let out = '';
    let exit: unknown[] = [];
    channel.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out === 'ready\n') channel.signal('TERM');
    });
    channel.on('exit', (...args: unknown[]) => (exit = args));
    const closed = new Promise((resolve) => channel.once('close', resolve));
    if (process.getuid?.() === 0) {
      // sshd delivers signals only to sessions running under privilege separation, which
      // root logins do not use: it logs the request it refuses, proving it arrived.
      await waitFor(() => f.sshd.logs().includes('session signalling requires privilege separation'), { what: 'sshd to receive the signal request' });
      channel.close();
      await closed;
    } else {
      await closed;
      expect(out).toBe('ready\ngot-TERM\n');
      expect(exit).toEqual([9]);
    }
    client.end();
  });
});

describe('session limits and refusals', () => {
  it('ends a session at the maxSessionTTL of its role, telling the operator', async () => {
    const result = await f.run(f.keys.carol, `${f.login}@web1`, ['echo started; sleep 30; echo never']);
    expect(result.stdout.toString()).toBe('started\n');
    expect(result.stderr).toMatch(/custos: the session reached its maximum lifetime \(maxSessionTTL of role brief, [^)]+\) and is closed/);
    const detail = await lastSession('carol');
    expect(detail.session.endReason).toBe('the session reached its maximum lifetime (maxSessionTTL of role brief)');
    expect(detail.session).toMatchObject({ identityKind: 'bot', identityOwner: 'alice' });
  });

  it('refuses agent and X11 forwarding with a reason and records the refusal', async () => {
    const agentPath = `${f.dir}/agent.sock`;
    const agent = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => agent.listen(agentPath, resolve));
    const result = await f.run(f.keys.alice, `${f.login}@web1`, ['echo ran'], {
      extra: ['-o', `IdentityAgent=${agentPath}`, '-o', 'ForwardAgent=yes', '-o', 'ForwardX11=yes', '-o', 'ForwardX11Trusted=yes'],
      env: { DISPLAY: ':77' },
    });
    agent.close();
    expect(result.stdout.toString()).toBe('ran\n');
    expect(result.stderr).toContain('custos: agent forwarding is refused');
    expect(result.stderr).toContain('custos: X11 forwarding is refused');
    const detail = await lastSession('alice', (d) => d.channels.some((c) => c.command === 'echo ran'));
    const kinds = (await store().audit.list({ sessionId: detail.session.id, type: 'ssh.forwarding.refused' })).map((e) => e.data.kind);
    expect(kinds.sort()).toEqual(['agent', 'x11']);
  });
});

describe('reviewing sessions with the CLI', () => {
  it('lists sessions by identity and target, as a table and as JSON', async () => {
    const id = shellSession!.session.id;
    const table = await f.gateway.cli(['sessions', 'ls', '--identity', 'alice', '--target', 'web1']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STARTED\s+DURATION\s+STATE\s+PROTOCOL\s+IDENTITY\s+TARGET\s+AS/);
    expect(table.stdout).toContain(id);
    const json = await f.gateway.cli(['sessions', 'ls', '--identity', 'alice', '--since', '1h', '--format', 'json']);
    const rows = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string; identityName: string; recordingPath: string });
    expect(rows.find((row) => row.id === id)).toMatchObject({ identityName: 'alice', recordingPath: shellSession!.session.recordingPath });
    expect(rows.every((row) => row.identityName === 'alice')).toBe(true);
    const none = await f.gateway.cli(['sessions', 'ls', '--identity', 'alice', '--since', '2099-01-01T00:00:00Z', '--format', 'json']);
    expect(none.stdout.trim()).toBe('');
  });

  it('shows a session with its tags, its digest checked against the file, and its channels', async () => {
    const { session } = shellSession!;
    const shown = await f.gateway.cli(['sessions', 'show', session.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`identity    alice (human)`);
    expect(shown.stdout).toContain(`sha256      ${session.recordingSha256}`);
    expect(shown.stdout).toContain('file        matches its digest');
    expect(shown.stdout).toMatch(/audit\s+session\.end event #\d+ carries the same digest/);
    expect(shown.stdout).toMatch(/CHANNELS\nID\s+KIND[^\n]*\n0\s+shell\s+-\s+xterm-256color 100x30/);
    const missing = await f.gateway.cli(['sessions', 'show', 'ses_doesnotexist']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no session ses_doesnotexist');
  });

  it('replays a recording in the terminal', async () => {
    const played = await f.gateway.cli(['play', shellSession!.session.id, '--speed', '50']);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain('MARK-42');
    expect(played.stderr).toMatch(/custos: replaying ses_[a-z0-9]+: alice as \S+ on web1/);
    expect(played.stderr).toContain('custos: end of recording (exit status 0)');
  });

  it('notices a recording that changed after it was closed', async () => {
    await f.run(f.keys.alice, `${f.login}@web1`, ['echo tamper-me']);
    const detail = await lastSession('alice', (d) => d.channels.some((c) => c.command === 'echo tamper-me'));
    const path = detail.session.recordingPath!;
    const file = readFileSync(path);
    file.write('ME', file.lastIndexOf('tamper-me') + 7);
    writeFileSync(path, file);
    const shown = await f.gateway.cli(['sessions', 'show', detail.session.id]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toContain('file        DOES NOT MATCH its digest');
    const played = await f.gateway.cli(['play', detail.session.id, '--speed', '50']);
    expect(played.stderr).toContain('custos: WARNING: the file does not match its recorded digest');
    expect(played.stdout).toBe('tamper-ME\n');
  });

  it('shows what a channel without a terminal holds, and replays its output when it is text', async () => {
    const command = 'echo plain text; echo to stderr >&2; exit 4';
    await f.run(f.keys.alice, `${f.login}@web1`, [command], { input: 'typed\n' });
    const { session } = await lastSession('alice', (d) => d.channels.some((c) => c.command === command));
    const shown = await f.gateway.cli(['sessions', 'show', session.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/CHANNELS\nID\s+KIND[^\n]*\n0\s+exec\s+echo plain text[^\n]*\.bytes\s+\d+\s+ok/);
    expect(shown.stdout).toMatch(/channel 0 {3}byte recording: stdout 11 bytes text, stderr \d+ bytes text, stdin 6 bytes text; exit status 4/);
    const json = JSON.parse((await f.gateway.cli(['sessions', 'show', session.id, '--format', 'json'])).stdout) as {
      channelRecordings: Array<{ format: string; content: { streams: Record<string, { bytes: number; sha256: string }> } }>;
    };
    expect(json.channelRecordings[0]).toMatchObject({ format: 'bytes', content: { streams: { stdout: { bytes: 11 }, stdin: { bytes: 6 } } } });
    expect(json.channelRecordings[0]!.content.streams.stdout!.sha256).toBe(createHash('sha256').update('plain text\n').digest('hex'));

    const played = await f.gateway.cli(['play', session.id, '--speed', '50']);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain('plain text\n');
    expect(played.stdout).toContain('to stderr\n');
    expect(played.stderr).toMatch(/custos: replaying channel 0 of ses_[a-z0-9]+: alice as \S+ on web1, no terminal/);
    expect(played.stderr).toContain('custos: end of recording (exit status 4)');
    const input = await f.gateway.cli(['play', session.id, '--raw', 'stdin']);
    expect(input.stdout).toBe('typed\n');
  });

  it('says a binary channel is binary, and writes its bytes exactly with --raw', async () => {
    const command = 'head -c 70000 /dev/urandom; printf "\\033]0;title\\007"';
    const result = await f.run(f.keys.alice, `${f.login}@web1`, [command]);
    expect(result.stdout.length).toBe(70_000 + 10);
    const { session } = await lastSession('alice', (d) => d.channels.some((c) => c.command === command));
    const played = await f.gateway.cli(['play', session.id]);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toBe('');
    const digest = createHash('sha256').update(result.stdout).digest('hex');
    expect(played.stderr).toContain(`custos: channel 0 of ${session.id} is binary, ${70_010} bytes of output (stdout 70010 bytes, sha256 ${digest})`);
    expect(played.stderr).toContain('--raw [stdout|stderr|stdin] > FILE');
    const raw = await f.gateway.cli(['play', session.id, '--raw']);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdoutBytes.equals(result.stdout)).toBe(true);
    expect(raw.stderr).toContain('custos: wrote the 70010 bytes of stdout of channel 0');
    const wrong = await f.gateway.cli(['play', session.id, '--raw', 'stdlog']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--raw takes stdout, stderr or stdin, not "stdlog"');
    const terminal = await f.gateway.cli(['play', shellSession!.session.id, '--raw']);
    expect(terminal.code).toBe(2);
    expect(terminal.stderr).toContain('had a terminal: its recording is asciicast');
  });
});
