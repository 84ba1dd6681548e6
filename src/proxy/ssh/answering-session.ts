import type { Connection, ServerChannel } from 'ssh2';

/** A session channel the gateway answers itself, relaying nothing: a refusal, the request door. */
export interface AnsweringSession {
  /** The client asked for a pseudo-terminal (lines then end in \r\n). */
  readonly pty: boolean;
  /** Runs `answer` for the shell, exec (with its command) or subsystem the client starts. */
  onStart(answer: (channel: ServerChannel, command: string | null) => void, subsystems: 'answer' | 'refuse'): void;
}

/**
 * Accepts each session channel the client opens, agreeing to its pty, environment and
 * window changes (none of which go anywhere), and hands the started channel to the caller.
 */
export function onAnsweringSession(connection: Connection, use: (session: AnsweringSession) => void): void {
  connection.on('session', (accept) => {
    const session = accept();
    let pty = false;
    session.on('pty', (ok) => {
      pty = true;
      ok?.();
    });
    session.on('env', (ok) => ok?.());
    session.on('window-change', (ok) => ok?.());
    use({
      get pty() {
        return pty;
      },
      onStart(answer, subsystems) {
        session.on('shell', (ok) => answer(ok(), null));
        session.on('exec', (ok, _reject, info) => answer(ok(), info.command));
        session.on('subsystem', (ok, reject) => (subsystems === 'answer' ? answer(ok(), null) : reject?.()));
      },
    });
  });
}
