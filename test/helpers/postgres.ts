import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { INSTALL_POSTGRES, postgresBinDirs, requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait.js';

export type PgAuth = 'scram-sha-256' | 'md5' | 'trust' | 'password';

export interface PgUser {
  name: string;
  password?: string;
  auth: PgAuth;
  superuser?: boolean;
}

export interface EphemeralPostgres {
  host: string;
  port: number;
  /** The cluster's superuser, reachable over the Unix socket with trust. */
  superuser: string;
  socketDir: string;
  /** A connection URL for a user (password included when it has one). */
  url(user?: string, database?: string): string;
  /** A client connected as the superuser over the Unix socket. */
  admin(database?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

const SUPERUSER = 'custos_test';
const runningAsRoot = process.getuid?.() === 0;
// PostgreSQL refuses to run as root; as root the harness runs it as the `postgres` user.
const OS_USER = runningAsRoot ? 'postgres' : userInfo().username;

/**
 * Starts a throwaway PostgreSQL (initdb + postgres from /usr/lib/postgresql/<v>/bin or PATH)
 * in a temp dir on a random port, with the given users and their auth methods.
 */
export async function startPostgres(options: { users?: PgUser[]; databases?: string[] } = {}): Promise<EphemeralPostgres> {
  const binDirs = postgresBinDirs();
  const initdb = requireBinary('initdb', INSTALL_POSTGRES, binDirs);
  const postgres = requireBinary('postgres', INSTALL_POSTGRES, binDirs);
  if (runningAsRoot) requireBinary('runuser', 'apt-get install -y util-linux');

  const temp = makeTempDir('cpg-');
  const dataDir = join(temp.path, 'data');
  const socketDir = temp.path;
  const template = await clusterTemplate(initdb);
  cpSync(template, dataDir, { recursive: true });
  if (runningAsRoot) chownRecursive(temp.path, OS_USER);

  const users = options.users ?? [];
  const hba = [
    'local all all trust',
    ...users.map((user) => `host all ${user.name} 127.0.0.1/32 ${user.auth}`),
    `host all ${SUPERUSER} 127.0.0.1/32 trust`,
  ];
  writeFileSync(join(dataDir, 'pg_hba.conf'), hba.join('\n') + '\n');

  const port = await freePort();
  const child = spawn(
    asOsUser(postgres),
    [
      ...asOsUserArgs(postgres),
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${socketDir}`,
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=64MB',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const admin = async (database = 'postgres') => {
    const client = new pg.Client({ host: socketDir, port, user: SUPERUSER, database });
    await client.connect();
    return client;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
        const client = await admin();
        await client.end();
        return true;
      },
      { timeoutMs: 30_000, what: 'postgres to accept connections' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    temp.remove();
    throw err;
  }

  const client = await admin();
  try {
    for (const user of users) {
      await client.query(`set password_encryption = '${user.auth === 'md5' ? 'md5' : 'scram-sha-256'}'`);
      const password = user.password ? ` password ${pg.escapeLiteral(user.password)}` : '';
      await client.query(`create role ${pg.escapeIdentifier(user.name)} login${user.superuser ? ' superuser' : ''}${password}`);
    }
    for (const database of options.databases ?? []) {
      await client.query(`create database ${pg.escapeIdentifier(database)}`);
    }
  } finally {
    await client.end();
  }

  const passwords = new Map(users.map((user) => [user.name, user.password]));
  return {
    host: '127.0.0.1',
    port,
    superuser: SUPERUSER,
    socketDir,
    url: (user = SUPERUSER, database = 'postgres') => {
      const password = passwords.get(user);
      const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
      return `postgres://${auth}@127.0.0.1:${port}/${database}`;
    },
    admin,
    stop: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      temp.remove();
    },
  };
}

let templatePromise: Promise<string> | null = null;

/** initdb once per test process; later clusters copy the result. */
function clusterTemplate(initdb: string): Promise<string> {
  templatePromise ??= (async () => {
    const dir = join(tmpdir(), `custos-pg-template-${process.pid}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    if (runningAsRoot) chownRecursive(dir, OS_USER);
    const target = join(dir, 'data');
    const result = spawnSync(asOsUser(initdb), [...asOsUserArgs(initdb), '-D', target, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'], {
      encoding: 'utf8',
    });
    if (result.status !== 0 || !existsSync(target)) throw new Error(`initdb failed: ${result.stderr || result.stdout}`);
    process.once('exit', () => spawnSync('rm', ['-rf', dir]));
    return target;
  })();
  return templatePromise;
}

function asOsUser(binary: string): string {
  return runningAsRoot ? 'runuser' : binary;
}

function asOsUserArgs(binary: string): string[] {
  return runningAsRoot ? ['-u', OS_USER, '--', binary] : [];
}

function chownRecursive(path: string, user: string): void {
  const result = spawnSync('chown', ['-R', `${user}:`, path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`chown ${path} to ${user} failed: ${result.stderr}`);
}
