import { createServer, connect, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshFingerprint } from '../../src/policy/ssh-keys.js';
import { spawnInPty } from '../helpers/pty.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { runProcess, SCP, SFTP, SSH, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';

let f: SshFixture;
/** A TCP server standing in for a target: counts every connection the gateway makes to it. */
let trap: Server;
let trapConnections = 0;
let echo: Server;

beforeAll(async () => {
  trap = createServer((socket) => {
    trapConnections += 1;
    socket.destroy();
  });
  echo = createServer((socket) => socket.pipe(socket));
  await Promise.all([new Promise<void>((r) => trap.listen(0, '127.0.0.1', r)), new Promise<void>((r) => echo.listen(0, '127.0.0.1', r))]);
  const trapPort = (trap.address() as { port: number }).port;
  f = await startSshFixture({
    resources: `
kind: target
name: vault
spec:
  protocol: ssh
  address: 127.0.0.1:${trapPort}
  labels: { env: restricted }
  hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ
  credentials:
    privateKey: file:/nonexistent`,
  });
});
afterAll(async () => {
  await f?.stop();
  trap?.close();
  echo?.close();
});

const store = () => f.gateway.gateway.store;
const fingerprintOf = (publicLine: string) => sshFingerprint(Buffer.from(publicLine.split(/\s+/)[1]!, 'base64'));
const echoPort = () => (echo.address() as { port: number }).port;

async function events(type: string, predicate: (data: Record<string, unknown>) => boolean) {
  return waitFor(async () => (await store().audit.list({ type, limit: 1000 })).filter((e) => predicate(e.data)).at(-1), { what: `a ${type} event` });
}

describe('who may connect', () => {
  it('refuses an unknown key with a readable reason and an audit event', async () => {
    // Not BatchMode: OpenSSH prints keyboard-interactive instructions, which carry the reason.
    const result = await runProcess(SSH, f.sshArgs(f.keys.stranger, `${f.login}@web1`, ['true']));
    const fingerprint = fingerprintOf(f.keys.stranger.publicLine);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain(`custos: access denied: no identity holds the SSH key offered (${fingerprint})`);
    const event = await events('auth.failure', (data) => String(data.credential).includes(fingerprint));
    expect(event.data).toMatchObject({ protocol: 'ssh', clientAddr: '127.0.0.1', reason: expect.stringContaining(`SSH user "${f.login}@web1"`) });
  });

  it('refuses an unknown key in BatchMode too (OpenSSH then shows only "Permission denied")', async () => {
    const result = await f.run(f.keys.stranger, 'web1', ['true']);
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('Permission denied');
  });

  it.each([
    ['bob', 'web2', 'no role of bob grants access to target web2'],
    ['alice', 'nope', 'no target named "nope"'],
    ['alice', 'nobody@web1', 'login "nobody" is not allowed on this target'],
    ['alice', 'vault', 'no role of alice grants access to target vault'],
  ] as const)('%s → %s: denied with the reason on the terminal, an audit event, no upstream connection', async (who, user, reason) => {
    const before = trapConnections;
    const result = await f.run(f.keys[who], user, ['echo should-not-run']);
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr).toContain(`custos: access denied: ${reason}`);
    const event = await events('access.deny', (data) => String(data.reason).includes(reason));
    expect(event.identity).toBe(who);
    expect(trapConnections).toBe(before);
    expect((await store().sessions.list({ identity: who })).filter((s) => s.target === user.split('@').at(-1))).toEqual([]);
  });

  it('shows the denial to sftp and scp users as well', async () => {
    const denial = 'custos: access denied: no role of bob grants access to target vault';
    const sftp = await runProcess(SFTP, ['-b', '-', '-P', String(f.port), ...f.sshOptions(f.keys.bob, ['-o', 'BatchMode=yes']), 'vault@127.0.0.1'], {
      input: 'ls\n',
    });
    expect(sftp.code).not.toBe(0);
    expect(sftp.stderr).toContain(denial);
    for (const legacy of [[], ['-O']]) {
      const scp = await runProcess(SCP, [...legacy, '-P', String(f.port), ...f.sshOptions(f.keys.bob, ['-o', 'BatchMode=yes']), 'vault@127.0.0.1:/etc/hostname', `${f.dir}/copied`]);
      expect(scp.code).not.toBe(0);
      expect(scp.stderr).toContain(denial);
    }
    expect(trapConnections).toBe(0);
  });

  it('accepts ed25519, ecdsa and rsa-sha2 keys', async () => {
    for (const who of ['alice', 'bob', 'carol'] as const) {
      const result = await f.run(f.keys[who], 'web1', ['echo key-ok']);
      expect(result.stdout.toString(), `${who}: ${result.stderr}`).toBe('key-ok\n');
    }
  });
});

describe('the target must be who it claims', () => {
  it('refuses a target whose host key does not match the pinned key, with an audit event', async () => {
    const result = await f.run(f.keys.alice, 'web2', ['echo should-not-run']);
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr).toMatch(/custos: cannot open the session on web2: the host key of web2 \(SHA256:[^)]+\) does not match its pinned key \(SHA256:[^)]+\); refusing to connect/);
    const event = await events('ssh.hostkey.mismatch', () => true);
    expect(event).toMatchObject({ identity: 'alice', target: 'web2' });
    expect(event.data).toMatchObject({ presented: fingerprintOf(f.sshd.hostKeyLine) });
    const [session] = await store().sessions.list({ identity: 'alice', target: 'web2' });
    expect(session).toMatchObject({ state: 'closed', endReason: expect.stringContaining('does not match its pinned key') });
  });
});

describe('port forwarding', () => {
  it('forwards a local port when the role allows it, counting the bytes, with a row and audit events', async () => {
    const local = await freePort();
    const ssh = spawnInPty(SSH, f.sshArgs(f.keys.alice, 'web1', ['-N', '-L', `${local}:127.0.0.1:${echoPort()}`], ['-o', 'ExitOnForwardFailure=yes']));
    const reply = await waitFor(
      () =>
        new Promise<string | undefined>((resolve) => {
          const socket = connect(local, '127.0.0.1');
          let text = '';
          socket.on('connect', () => socket.write('ping through custos\n'));
          socket.on('data', (chunk) => {
            text += chunk.toString();
            if (text.endsWith('\n')) socket.end();
          });
          socket.on('close', () => resolve(text || undefined));
          socket.on('error', () => resolve(undefined));
        }),
      { timeoutMs: 20_000, what: 'the forwarded port to echo' },
    );
    expect(reply).toBe('ping through custos\n');
    const row = await waitFor(async () => {
      const [session] = await store().sessions.list({ identity: 'alice', target: 'web1', state: 'live', limit: 1 });
      const detail = session ? await store().sessions.detail(session.id) : null;
      return detail?.portForwards.find((p) => p.closedAt !== null);
    });
    expect(row).toMatchObject({ allowed: true, destHost: '127.0.0.1', destPort: echoPort(), bytesIn: 20, bytesOut: 20, kind: 'local' });
    await events('access.allow', (data) => (data.action as { kind: string }).kind === 'ssh.port-forward');
    await events('ssh.port-forward.end', (data) => data.destination === `127.0.0.1:${echoPort()}` && data.bytesIn === 20);
    ssh.kill();
    await ssh.exited;
  });

  it('refuses a forward the role does not allow, with the reason shown by OpenSSH and a row', async () => {
    const local = await freePort();
    const ssh = spawnInPty(SSH, f.sshArgs(f.keys.bob, 'web1', ['-N', '-L', `${local}:127.0.0.1:${echoPort()}`]));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = connect(local, '127.0.0.1');
          socket.on('connect', () => socket.end());
          socket.on('close', () => resolve(true));
          socket.on('error', () => resolve(false));
        }),
      { timeoutMs: 20_000, what: 'the local end of the forward' },
    );
    const message = `administratively prohibited: custos: access denied: port forwarding to 127.0.0.1:${echoPort()} is not allowed for bob on web1`;
    await ssh.waitFor(message);
    ssh.kill();
    await ssh.exited;
    const [session] = await store().sessions.list({ identity: 'bob', target: 'web1', limit: 1 });
    const detail = await waitFor(async () => {
      const d = await store().sessions.detail(session!.id);
      return d?.portForwards.length ? d : undefined;
    });
    expect(detail.portForwards[0]).toMatchObject({ allowed: false, destPort: echoPort(), bytesIn: 0, bytesOut: 0 });
  });
});
