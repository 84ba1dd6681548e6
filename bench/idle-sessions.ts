/** Idle SSH sessions through a gateway, and the gateway's memory with them open (benches). */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { INSTALL_SSH_CLIENT, requireBinary } from '../test/helpers/binaries.js';

export interface Endpoint {
  name: string;
  /** ssh arguments up to (and including) user@host. */
  args: string[];
}

const log = (text: string) => process.stderr.write(`${text}\n`);

/**
 * Opens `count` idle interactive sessions and measures the gateway's resident memory.
 * `collect`, when given, makes the gateway collect its garbage before each reading, so the
 * difference is what the sessions hold rather than when V8 last ran.
 */
export async function idleSessions(endpoint: Endpoint, gatewayPid: number, count: number, collect?: () => void) {
  // Anonymous memory only: file-backed pages (the node binary, libraries) come and go with
  // the machine's memory pressure.
  const rss = () => Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${gatewayPid}/status`, 'utf8'))![1]) * 1024;
  const clients: ChildProcess[] = [];
  // The baseline already has 20 sessions open: code paths warmed up, and the start-up
  // garbage that an idle process keeps (no allocation, no GC) collected by their traffic.
  await openIdle(endpoint, clients, 20);
  collect?.();
  const rssBefore = await stableRss(rss);
  try {
    for (let opened = 0; opened < count; opened += 20) await openIdle(endpoint, clients, Math.min(20, count - opened));
    collect?.();
    const rssWith = await stableRss(rss);
    return { sessions: count, rssBefore, rssWith, perSessionBytes: Math.round((rssWith - rssBefore) / count) };
  } finally {
    for (const client of clients) client.kill();
  }
}

async function openIdle(endpoint: Endpoint, clients: ChildProcess[], count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () => {
      const child = spawn(requireBinary('ssh', INSTALL_SSH_CLIENT), ['-tt', ...endpoint.args, 'echo IDLE-READY; exec sleep 3600'], { stdio: ['pipe', 'pipe', 'ignore'] });
      clients.push(child);
      return new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('IDLE-READY')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`an idle session ended (${code})`)));
      });
    }),
  );
}

/**
 * Memory once it has stopped moving: V8 shrinks an idle heap in steps some seconds after
 * activity ends, so this waits for 10 samples (one a second) within 512 KiB of each other.
 */
export async function stableRss(read: () => number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 120; i++) {
    await settle(1000);
    samples.push(read());
    const last = samples.slice(-10);
    if (last.length === 10 && Math.max(...last) - Math.min(...last) < 512 * 1024) break;
  }
  log(`  memory samples (MiB): ${samples.map((b) => (b / 1024 / 1024).toFixed(0)).join(' ')}`);
  return samples.at(-1)!;
}

export function settle(ms = 1000): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
