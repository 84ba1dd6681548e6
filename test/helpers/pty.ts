import pty from 'node-pty';

export interface PtyProcess {
  /** Everything the program wrote to its terminal so far. */
  output(): string;
  /** Resolves with the output once it matches, or fails after the timeout with what it saw. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  exited: Promise<{ exitCode: number; signal?: number }>;
  kill(signal?: string): void;
}

/** Runs a real client (ssh, psql …) in a pseudo-terminal, as an operator would. */
export function spawnInPty(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cols?: number; rows?: number; cwd?: string } = {},
): PtyProcess {
  const child = pty.spawn(file, args, {
    name: 'xterm-256color',
    cols: options.cols ?? 100,
    rows: options.rows ?? 30,
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, TERM: 'xterm-256color', ...options.env } as Record<string, string>,
  });
  let output = '';
  const listeners = new Set<() => void>();
  child.onData((data) => {
    output += data;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => child.onExit((event) => resolve(event)));
  return {
    output: () => output,
    waitFor: (pattern, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const matches = () => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
        if (matches()) return resolve(output);
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${String(pattern)} in terminal output:\n${output.slice(-2000)}`));
        }, timeoutMs);
        const check = () => {
          if (!matches()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(output);
        };
        listeners.add(check);
      }),
    write: (data) => child.write(data),
    resize: (cols, rows) => child.resize(cols, rows),
    exited,
    kill: (signal) => child.kill(signal),
  };
}
