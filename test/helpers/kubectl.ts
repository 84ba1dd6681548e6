import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';

export const INSTALL_KUBECTL = 'apt-get install -y kubectl (Google Cloud SDK repository) or a kubectl ≥ 1.31 binary on PATH';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  raw: Buffer;
}

export function kubectlPath(): string {
  return requireBinary('kubectl', INSTALL_KUBECTL);
}

/**
 * Runs real kubectl against a kubeconfig, asynchronously (the API server under test often
 * lives in this process). HOME is a directory of the caller's so discovery caches never
 * leak between tests; stdin gets `input` and is then closed.
 */
export function runKubectl(args: string[], options: { kubeconfig: string; home: string; input?: string | Buffer; env?: NodeJS.ProcessEnv }): Promise<KubectlResult> {
  mkdirSync(join(options.home, '.kube'), { recursive: true });
  const child = spawn(kubectlPath(), args, {
    env: { PATH: process.env.PATH, ...options.env, KUBECONFIG: options.kubeconfig, HOME: options.home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), raw });
    });
  });
}
