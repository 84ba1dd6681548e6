import { posix } from 'node:path';
import type { FileOperationSink } from './file-operation.js';
import type { ScpCommand } from './scp-command.js';

type Expectation = { kind: 'file-line'; path: string; size: number } | { kind: 'dir-line'; path: string } | { kind: 'other-line' } | { kind: 'data'; path: string; size: number };

const MAX_LINE = 64 * 1024;

/**
 * Follows the legacy scp protocol (rcp's): the source sends `C<mode> <size> <name>\n`, the
 * file's bytes and a status byte; `D…`/`E` enter and leave directories; `T…` carries times;
 * the sink answers each with an ack (`\0`, or `\1`/`\2` and a message line). File rows are
 * reported when the sink acknowledges the data (ok) or refuses the file (error).
 */
export class ScpObserver {
  private line: number[] = [];
  private state: 'line' | 'await-ack' | 'data' | 'status' = 'line';
  private dataLeft = 0;
  private readonly dirs: string[] = [];
  private readonly expected: Expectation[] = [];
  private ackMessage: number[] | null = null;
  private ackCode = 0;
  broken: string | null = null;

  constructor(
    private readonly command: ScpCommand,
    private readonly sink: FileOperationSink,
  ) {}

  fromClient(chunk: Buffer): void {
    if (this.command.mode === 'sink') this.stream(chunk);
    else this.acks(chunk);
  }

  fromServer(chunk: Buffer): void {
    if (this.command.mode === 'sink') this.acks(chunk);
    else this.stream(chunk);
  }

  private get operation(): 'write' | 'read' {
    return this.command.mode === 'sink' ? 'write' : 'read';
  }

  /** The source's side: control lines, file data and status bytes. */
  private stream(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.broken) {
      switch (this.state) {
        case 'await-ack':
          // The source waits for the ack of a C line before it sends data; bytes here mean
          // the ack was an error and the source moved on, or the stream is not scp.
          this.state = 'line';
          continue;
        case 'data': {
          const take = Math.min(this.dataLeft, chunk.length - offset);
          this.dataLeft -= take;
          offset += take;
          if (this.dataLeft === 0) this.state = 'status';
          continue;
        }
        case 'status':
          // \0 after the data; a failed read sends its \1 message line instead.
          if (chunk[offset] !== 0) this.line.push(chunk[offset]!);
          offset += 1;
          this.state = 'line';
          continue;
        case 'line': {
          const end = chunk.indexOf(0x0a, offset);
          const stop = end < 0 ? chunk.length : end;
          for (let i = offset; i < stop; i++) this.line.push(chunk[i]!);
          offset = end < 0 ? chunk.length : end + 1;
          if (this.line.length > MAX_LINE) this.broken = 'an scp control line is too long';
          if (end >= 0) {
            const text = Buffer.from(this.line).toString('utf8');
            this.line = [];
            this.controlLine(text);
          }
          continue;
        }
      }
    }
  }

  private controlLine(text: string): void {
    const kind = text[0];
    if (kind === '\x01' || kind === '\x02') {
      // The source reports a file it cannot send (e.g. "scp: /x: No such file or directory").
      const message = text.slice(1);
      const path = /^scp: (.*?): [^:]+$/.exec(message)?.[1] ?? this.command.paths[0]!;
      this.report(this.operation, path, null, message);
      return;
    }
    const file = /^C([0-7]{3,4}) (\d+) (.+)$/.exec(text);
    if (file) {
      const size = Number(file[2]);
      this.expected.push({ kind: 'file-line', path: this.pathFor(file[3]!), size });
      this.state = 'await-ack';
      return;
    }
    const dir = /^D([0-7]{3,4}) \d+ (.+)$/.exec(text);
    if (dir) {
      const path = this.pathFor(dir[2]!);
      this.dirs.push(path);
      this.expected.push({ kind: 'dir-line', path });
      return;
    }
    if (text === 'E') {
      this.dirs.pop();
      this.expected.push({ kind: 'other-line' });
      return;
    }
    if (/^T\d+ \d+ \d+ \d+$/.test(text)) {
      this.expected.push({ kind: 'other-line' });
      return;
    }
    this.broken = 'unexpected scp control line';
  }

  /** The sink's side: `\0`, or `\1`/`\2` followed by a message and a newline. */
  private acks(chunk: Buffer): void {
    for (const byte of chunk) {
      if (this.broken) return;
      if (this.ackMessage) {
        if (byte === 0x0a) {
          this.ack(this.ackCode, Buffer.from(this.ackMessage).toString('utf8'));
          this.ackMessage = null;
        } else if (this.ackMessage.length < MAX_LINE) this.ackMessage.push(byte);
      } else if (byte === 0) this.ack(0, null);
      else if (byte === 1 || byte === 2) {
        this.ackCode = byte;
        this.ackMessage = [];
      } else this.broken = 'the scp sink answered with bytes that are not acknowledgements';
    }
  }

  private ack(code: number, message: string | null): void {
    const expectation = this.expected.shift();
    // The sink's first \0 says it is ready; it answers nothing.
    if (!expectation) return;
    const ok = code === 0;
    switch (expectation.kind) {
      case 'file-line':
        if (ok) {
          this.expected.unshift({ kind: 'data', path: expectation.path, size: expectation.size });
          this.dataLeft = expectation.size;
          this.state = expectation.size > 0 ? 'data' : 'status';
        } else {
          this.report(this.operation, expectation.path, null, message);
          this.state = 'line';
        }
        return;
      case 'dir-line':
        if (this.command.mode === 'sink' || !ok) this.report('mkdir', expectation.path, null, ok ? null : message, this.command.mode === 'source');
        return;
      case 'data':
        this.report(this.operation, expectation.path, expectation.size, ok ? null : message);
        return;
      case 'other-line':
        return;
    }
  }

  private report(operation: 'read' | 'write' | 'mkdir', path: string, bytes: number | null, error: string | null, skip = false): void {
    if (skip) return;
    this.sink({ time: new Date(), operation, path, targetPath: null, bytes, result: error === null ? 'ok' : 'error', error });
  }

  /**
   * Best reconstruction of the remote path. The sink's target may be a directory or the
   * file's new name, which the protocol does not say: a target whose last component is
   * not the file's name is taken as a directory.
   */
  private pathFor(name: string): string {
    const parent = this.dirs.at(-1);
    if (parent !== undefined) return posix.join(parent, name);
    if (this.command.mode === 'sink') {
      const target = this.command.paths[0]!;
      if (this.command.targetIsDirectory || posix.basename(target) !== name) return posix.join(target, name);
      return target;
    }
    const source = this.command.paths.find((path) => posix.basename(path) === name);
    return source ?? posix.join(posix.dirname(this.command.paths[0]!), name);
  }
}
