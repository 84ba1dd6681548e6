import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

/** The argv that runs the `custos` CLI from sources (no build needed). */
export function custosCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', BIN, ...args] };
}

export interface CliResult {
  code: number;
  stdout: string;
  /** Stdout as bytes (for output that is not text, e.g. `play --raw`). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs `custos <args>` as a child process, as an operator would. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const { command, args: argv } = custosCommand(args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`custos ${args.join(' ')} timed out\nstdout: ${Buffer.concat(stdout).toString()}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(stdout);
      resolve({ code: code ?? -1, stdout: bytes.toString(), stdoutBytes: bytes, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
