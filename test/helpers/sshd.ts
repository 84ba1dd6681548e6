import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { INSTALL_SSHD, requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { makeKeyPair, type KeyPair } from './ssh-keys.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait.js';

export interface EphemeralSshd {
  host: string;
  port: number;
  /** The OS user sshd lets in (the user running the tests). */
  user: string;
  /** `ssh-ed25519 AAAA…`: pin this as the target's hostKey. */
  hostKeyLine: string;
  dir: string;
  /** The tail of sshd's own log (stderr; LogLevel ERROR, the first LogLevel line wins). */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts OpenSSH sshd on a random 127.0.0.1 port with its own host key, config and
 * authorized_keys; only public keys are accepted, for the user running the tests.
 */
export async function startSshd(options: { authorizedKeys: string[]; extraConfig?: string[] }): Promise<EphemeralSshd> {
  const sshd = requireBinary('sshd', INSTALL_SSHD);
  const temp = makeTempDir('csshd-');
  const hostKey: KeyPair = makeKeyPair(temp.path, 'ssh_host_ed25519_key');
  const authorizedKeys = join(temp.path, 'authorized_keys');
  writeFileSync(authorizedKeys, options.authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey.privatePath}`,
    `PidFile ${join(temp.path, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'PrintMotd no',
    'PrintLastLog no',
    'AcceptEnv LANG LC_*',
    'AllowTcpForwarding yes',
    'Subsystem sftp internal-sftp',
    'MaxStartups 200:30:300',
    'MaxSessions 100',
    'LogLevel ERROR',
    ...(options.extraConfig ?? []),
  ];
  const configPath = join(temp.path, 'sshd_config');
  writeFileSync(configPath, config.join('\n') + '\n');
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const child = spawn(sshd, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-64_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
        return new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('data', (banner) => {
            socket.destroy();
            resolve(banner.toString().startsWith('SSH-'));
          });
          socket.once('error', () => resolve(false));
        });
      },
      { timeoutMs: 15_000, what: 'sshd to accept connections' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    temp.remove();
    throw err;
  }
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    hostKeyLine: hostKey.publicLine.split(' ').slice(0, 2).join(' '),
    dir: temp.path,
    logs: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      temp.remove();
    },
  };
}
