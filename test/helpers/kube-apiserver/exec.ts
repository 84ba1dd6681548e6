import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import pty from 'node-pty';
import type { WebSocket } from 'ws';
import {
  CHANNEL_PROTOCOL_V5,
  ERROR,
  exitStatusJson,
  parseChannelMessage,
  parseResize,
  serializeChannelData,
  STDERR,
  STDIN,
  STDOUT,
  type ChannelProtocol,
} from '../../../src/proxy/kubernetes/channel-protocol.js';

export interface ExecRequest {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** The pod's name, as HOSTNAME in the process environment. */
  hostname: string;
  cwd: string;
}

/** What the server saw of one exec or attach, for tests to assert on. */
export interface ExecRecord extends ExecRequest {
  protocol: ChannelProtocol;
  resizes: Array<{ cols: number; rows: number }>;
  stdinClosed: boolean;
  exitCode?: number;
}

const HIGH_WATER = 1024 * 1024;

/**
 * Runs one exec on the test server's own machine, as a kubelet runs it in a container: a
 * real process (in a pseudo-terminal with `tty=true`, with pipes otherwise), its output on
 * the stdout/stderr channels, stdin from channel 0 (closed by the v5 close signal),
 * resizes from channel 4, and the exit status as a metav1.Status on channel 3 before a
 * normal close.
 */
export function runExec(ws: WebSocket, protocol: ChannelProtocol, request: ExecRequest, record: ExecRecord): void {
  const program = resolveProgram(request.command[0] ?? '');
  if (!program) {
    const message = `OCI runtime exec failed: exec failed: unable to start container process: exec: "${request.command[0] ?? ''}": executable file not found in $PATH: unknown`;
    sendFailure(ws, message);
    return;
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: request.hostname, HOME: request.cwd, ...(request.tty ? { TERM: 'xterm' } : {}) };
  let pendingBytes = 0;
  let paused = false;
  let pause = () => {};
  let resume = () => {};
  const send = (channel: 1 | 2, chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    pendingBytes += chunk.length;
    ws.send(serializeChannelData(channel, chunk), () => {
      pendingBytes -= chunk.length;
      if (paused && pendingBytes < HIGH_WATER / 2) {
        paused = false;
        resume();
      }
    });
    if (!paused && pendingBytes > HIGH_WATER) {
      paused = true;
      pause();
    }
  };
  const finish = (exitCode: number) => {
    record.exitCode = exitCode;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(serializeChannelData(ERROR, exitStatusJson(exitCode, request.command)));
    ws.close(1000);
  };

  if (request.tty) {
    const terminal = pty.spawn(program, request.command.slice(1), { name: 'xterm', cols: 80, rows: 24, cwd: request.cwd, env, encoding: null });
    pause = () => terminal.pause();
    resume = () => terminal.resume();
    let exited: number | undefined;
    let quietTimer: NodeJS.Timeout | undefined;
    // node-pty can report the exit before the last output: finish once output has been quiet briefly.
    const finishWhenQuiet = () => {
      if (quietTimer) clearTimeout(quietTimer);
      quietTimer = setTimeout(() => finish(exited!), 50);
    };
    (terminal.onData as unknown as (listener: (data: Buffer) => void) => void)((data) => {
      if (request.stdout) send(STDOUT, Buffer.from(data));
      if (exited !== undefined) finishWhenQuiet();
    });
    terminal.onExit(({ exitCode, signal }) => {
      exited = signal ? 128 + signal : exitCode;
      finishWhenQuiet();
    });
    ws.on('message', (message: Buffer) => {
      const parsed = parseChannelMessage(message, protocol);
      if (parsed.kind === 'close') {
        if (parsed.channel === STDIN) {
          record.stdinClosed = true;
          terminal.write('\x04');
        }
        return;
      }
      if (parsed.channel === STDIN && request.stdin) terminal.write(parsed.data as unknown as string);
      else if (parsed.channel === 4) {
        const size = parseResize(parsed.data);
        record.resizes.push(size);
        if (size.cols > 0 && size.rows > 0) terminal.resize(size.cols, size.rows);
      }
    });
    ws.on('close', () => {
      if (exited === undefined) terminal.kill('SIGHUP');
    });
    return;
  }

  const child = spawn(program, request.command.slice(1), { cwd: request.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const outputs: Readable[] = [child.stdout, child.stderr];
  pause = () => outputs.forEach((stream) => stream.pause());
  resume = () => outputs.forEach((stream) => stream.resume());
  child.stdout.on('data', (chunk: Buffer) => request.stdout && send(STDOUT, chunk));
  child.stderr.on('data', (chunk: Buffer) => request.stderr && send(STDERR, chunk));
  child.stdin.on('error', () => {});
  if (!request.stdin) child.stdin.end();
  child.on('close', (code, signal) => finish(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  ws.on('message', (message: Buffer) => {
    const parsed = parseChannelMessage(message, protocol);
    if (parsed.kind === 'close') {
      if (parsed.channel === STDIN && protocol === CHANNEL_PROTOCOL_V5) {
        record.stdinClosed = true;
        child.stdin.end();
      }
      return;
    }
    if (parsed.channel === STDIN && request.stdin) child.stdin.write(parsed.data);
    else if (parsed.channel === 4) record.resizes.push(parseResize(parsed.data));
  });
  ws.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

function sendFailure(ws: WebSocket, message: string): void {
  ws.send(serializeChannelData(ERROR, JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 })));
  ws.close(1000);
}

function resolveProgram(name: string): string | undefined {
  if (name === '') return undefined;
  const candidates = isAbsolute(name) || name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
  return numbers[signal] ?? 1;
}
