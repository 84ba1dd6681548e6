import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOperation } from '../../src/admin/operations.js';
import type { WebPlugin } from '../../src/web/web-listener.js';
import { INSTALL_SSH_CLIENT, requireBinary } from './binaries.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { makeKeyPair, type KeyPair } from './ssh-keys.js';
import { startSshd, type EphemeralSshd } from './sshd.js';
import { makeTempDir } from './temp-dir.js';

export const SSH = requireBinary('ssh', INSTALL_SSH_CLIENT);
export const SCP = requireBinary('scp', INSTALL_SSH_CLIENT);
export const SFTP = requireBinary('sftp', INSTALL_SSH_CLIENT);

export interface SshRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface SshFixture {
  sshd: EphemeralSshd;
  gateway: TestGateway;
  dir: string;
  keys: Record<'alice' | 'bob' | 'carol' | 'stranger' | 'upstream', KeyPair>;
  /** The OS user sshd lets in: the login every role allows. */
  login: string;
  port: number;
  /** OpenSSH client options for a key, pinned to the gateway's host key. */
  sshOptions(key: KeyPair, extra?: string[]): string[];
  /** `ssh -p PORT USER@127.0.0.1 …` through the gateway. */
  sshArgs(key: KeyPair, user: string, rest?: string[], extra?: string[]): string[];
  /** The same through another gateway (a child process), given its port and data dir. */
  sshArgsVia(gateway: { port: number; dataDir: string }, key: KeyPair, user: string, rest?: string[], extra?: string[]): string[];
  run(key: KeyPair, user: string, rest: string[], options?: { input?: string | Buffer; extra?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<SshRun>;
  /** The same command straight to sshd (the baseline OpenSSH behaviour). */
  runDirect(rest: string[], options?: { input?: string | Buffer }): Promise<SshRun>;
  apply(yaml: string): Promise<void>;
  /** The resources applied at start (to declare the same on another gateway). */
  resources: string;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  settings?: Record<string, unknown>;
  /** Extra resources (YAML documents) applied after the standard ones. */
  resources?: string;
  /** Route sets on the gateway's web listener (default: the viewer with its defaults). */
  webPlugins?: WebPlugin[];
  /** Extra sshd_config lines for the target (e.g. `SetEnv HOME=…`). */
  sshdConfig?: string[];
}

/**
 * A real OpenSSH sshd as the target `web1`, a gateway with the SSH listener, and the
 * standard resources: `alice` (role ops: login = the OS user, port forwarding, input
 * recorded), `bob` (role readonly: same login, no port forwarding, on targets labelled
 * tier=readonly only) and the bot `carol` (owner alice, role brief: maxSessionTTL 2s).
 * `web2` points at the same sshd with a wrong pinned host key.
 */
export async function startSshFixture(options: FixtureOptions = {}): Promise<SshFixture> {
  const temp = makeTempDir('cssh-');
  const dir = temp.path;
  const keys = {
    alice: makeKeyPair(dir, 'alice'),
    bob: makeKeyPair(dir, 'bob', 'ecdsa'),
    carol: makeKeyPair(dir, 'carol', 'rsa'),
    stranger: makeKeyPair(dir, 'stranger'),
    upstream: makeKeyPair(dir, 'upstream'),
  };
  const wrongHostKey = makeKeyPair(dir, 'wrong_host_key');
  const sshd = await startSshd({ authorizedKeys: [keys.upstream.publicLine], ...(options.sshdConfig ? { extraConfig: options.sshdConfig } : {}) });
  const gateway = await startTestGateway({
    settings: { listen: { ssh: '127.0.0.1:0' }, ...options.settings },
    ...(options.webPlugins ? { webPlugins: options.webPlugins } : {}),
  });
  const port = gateway.address('ssh').port;
  const login = sshd.user;
  const knownHostsFor = (hostKeyPath: string, gatewayPort: number) => {
    const line = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const path = join(dir, `known_hosts_${gatewayPort}`);
    writeFileSync(path, `[127.0.0.1]:${gatewayPort} ${line}\n`);
    return path;
  };
  const knownHosts = knownHostsFor(gateway.config.ssh.hostKey, port);

  const apply = async (yaml: string) => {
    await runOperation({ store: gateway.gateway.store, actor: 'test', config: gateway.config }, 'apply', { files: [{ source: 'test.yaml', text: yaml }] });
  };
  const resources = `
kind: target
name: web1
spec:
  protocol: ssh
  address: 127.0.0.1:${sshd.port}
  labels: { env: test, tier: readonly }
  hostKey: ${sshd.hostKeyLine}
  credentials:
    privateKey: file:${keys.upstream.privatePath}
---
kind: target
name: web2
spec:
  protocol: ssh
  address: 127.0.0.1:${sshd.port}
  labels: { env: test }
  hostKey: ${wrongHostKey.publicLine}
  credentials:
    privateKey: file:${keys.upstream.privatePath}
---
kind: role
name: ops
spec:
  targets: { env: test }
  logins: [${login}]
  portForwarding: true
  recordInput: true
  maxSessionTTL: 1h
---
kind: role
name: readonly
spec:
  targets: { tier: readonly }
  logins: [${login}]
---
kind: role
name: brief
spec:
  targets: { env: test }
  logins: [${login}]
  maxSessionTTL: 2s
---
kind: identity
name: alice
spec:
  kind: human
  roles: [ops]
  sshKeys: ["${keys.alice.publicLine}"]
---
kind: identity
name: bob
spec:
  kind: human
  roles: [readonly]
  sshKeys: ["${keys.bob.publicLine}"]
---
kind: identity
name: carol
spec:
  kind: bot
  owner: alice
  roles: [brief]
  sshKeys: ["${keys.carol.publicLine}"]
${options.resources ? `---\n${options.resources}` : ''}`;
  await apply(resources);

  // OpenSSH keeps the first value given for an option: `extra` comes first to override.
  const sshOptions = (key: KeyPair, extra: string[] = [], hostsFile = knownHosts) => [
    ...extra,
    '-F', '/dev/null',
    '-i', key.privatePath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', `UserKnownHostsFile=${hostsFile}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=20',
  ];
  const sshArgs = (key: KeyPair, user: string, rest: string[] = [], extra: string[] = []) => [
    ...sshOptions(key, extra),
    '-p', String(port),
    `${user}@127.0.0.1`,
    ...rest,
  ];
  return {
    sshd,
    gateway,
    dir,
    keys,
    login,
    port,
    sshOptions: (key, extra) => sshOptions(key, extra),
    sshArgs,
    sshArgsVia: (via, key, user, rest = [], extra = []) => [
      ...sshOptions(key, extra, knownHostsFor(join(via.dataDir, 'ssh_host_ed25519_key'), via.port)),
      '-p', String(via.port),
      `${user}@127.0.0.1`,
      ...rest,
    ],
    run: (key, user, rest, runOptions = {}) => runProcess(SSH, sshArgs(key, user, rest, ['-o', 'BatchMode=yes', ...(runOptions.extra ?? [])]), runOptions),
    runDirect: (rest, runOptions = {}) =>
      runProcess(
        SSH,
        [
          '-F', '/dev/null', '-i', keys.upstream.privatePath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
          '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
          '-p', String(sshd.port), `${login}@127.0.0.1`, ...rest,
        ],
        runOptions,
      ),
    apply,
    resources,
    stop: async () => {
      await gateway.stop();
      await sshd.stop();
      temp.remove();
    },
  };
}

export function runProcess(command: string, args: string[], options: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<SshRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
