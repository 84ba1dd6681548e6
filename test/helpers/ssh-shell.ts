import { spawnInPty, type PtyProcess } from './pty.js';
import { SSH, type SshFixture } from './ssh-fixture.js';
import type { KeyPair } from './ssh-keys.js';
import { waitFor } from './wait.js';

export interface SshShell {
  pty: PtyProcess;
  /**
   * Types `command` and Enter (all at once, or a key every `typeDelayMs` as a person would),
   * then waits until new output matches `until`.
   */
  run(command: string, until: string | RegExp, options?: { timeoutMs?: number; typeDelayMs?: number }): Promise<void>;
  /** Types `exit` and waits for the client to end; resolves with its exit code. */
  exit(): Promise<number>;
}

/** A shell prompt (bash as root or not) at the end of the output so far. */
const PROMPT = /[#$] $/;

/**
 * The real OpenSSH client in a pseudo-terminal, logged in through the gateway to a target
 * (`user` is `login@target`), at its first shell prompt: an operator's interactive session.
 */
export async function openSshShell(
  f: SshFixture,
  options: { key: KeyPair; user: string; cols?: number; rows?: number; timeoutMs?: number },
): Promise<SshShell> {
  const pty = spawnInPty(SSH, f.sshArgs(options.key, options.user), { cols: options.cols ?? 100, rows: options.rows ?? 30 });
  await pty.waitFor(PROMPT, options.timeoutMs ?? 20_000);
  const since = (mark: number, pattern: string | RegExp) => {
    const fresh = pty.output().slice(mark);
    return typeof pattern === 'string' ? fresh.includes(pattern) : pattern.test(fresh);
  };
  return {
    pty,
    run: async (command, until, { timeoutMs = 15_000, typeDelayMs = 0 } = {}) => {
      const mark = pty.output().length;
      if (typeDelayMs > 0) {
        for (const key of `${command}\r`) {
          pty.write(key);
          await new Promise((resolve) => setTimeout(resolve, typeDelayMs));
        }
      } else pty.write(`${command}\r`);
      await waitFor(() => since(mark, until), { timeoutMs }).catch(() => {
        throw new Error(`timed out waiting for ${String(until)} after \`${command}\`; the terminal shows:\n${pty.output().slice(-1500)}`);
      });
    },
    exit: async () => {
      pty.write('exit\r');
      return (await pty.exited).exitCode;
    },
  };
}
