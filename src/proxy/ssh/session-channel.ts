import { join } from 'node:path';
import type { ClientChannel, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { errorMessage } from '../../core/errors.js';
import type { ChannelExit, RecordingDigest, SessionRecorder } from '../../recorder/session-recorder.js';
import { isAllowedEnv } from './env-allow-list.js';
import type { ObservedFileOperation } from './file-operation.js';
import { messages } from './operator-messages.js';
import { drained, flushed, relay, type Tap } from './relay.js';
import { parseScpCommand } from './scp-command.js';
import { ScpObserver } from './scp-observer.js';
import { SftpObserver } from './sftp-observer.js';
import { repairChannelWrites } from './ssh2-internals.js';
import type { SshSessionHost } from './session-host.js';
import type { PtyRequest, UpstreamConnection } from './upstream.js';

type Kind = 'shell' | 'exec' | 'sftp' | 'scp';

interface UpstreamExit extends ChannelExit {
  coreDumped: boolean;
  description: string | null;
}

/** Asciicast's size when a pty request gave none. */
const DEFAULT_SIZE = { cols: 80, rows: 24 };
/** How long an ending session waits for a channel to hand its last bytes to the operator. */
const TERMINATE_GRACE_MS = 10_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * One SSH session channel between an operator and a target: its requests (pty, env,
 * window-change, signal; agent and X11 forwarding refused), the shell / exec / sftp / scp
 * it starts, the upstream channel it is bridged to, and its evidence — a recording of every
 * channel whatever it claims to be (asciicast with a terminal, a byte recording without
 * one), plus file operations for sftp and scp — and its row in `session_channels`. Bytes
 * reach the evidence before they are forwarded.
 */
export class SessionChannel {
  private pty: PtyRequest | null = null;
  private readonly env: Record<string, string> = {};
  private readonly refused: string[] = [];
  private state: 'setup' | 'starting' | 'running' | 'closed' = 'setup';
  private client: ServerChannel | null = null;
  private upstream: ClientChannel | null = null;
  private recorder: SessionRecorder | null = null;
  private exit: UpstreamExit | null = null;
  private stopped = false;
  private finishing: Promise<void> | null = null;
  private readonly bytes = { toClient: 0, fromClient: 0 };
  private kind: Kind | null = null;
  /** sftp and scp: the protocol followed for the file-operation log (beside the recording). */
  private fileIndex: SftpObserver | ScpObserver | null = null;
  private bridged: Promise<void> | null = null;
  private clientClosed: Promise<void> | null = null;

  constructor(
    private readonly session: SshSessionHost,
    readonly id: number,
    sshSession: Session,
  ) {
    sshSession.on('pty', (accept, _reject, info) => {
      this.pty = toPty(info);
      accept?.();
    });
    sshSession.on('env', (accept, reject, info) => {
      if (isAllowedEnv(info.key) && this.state === 'setup') {
        this.env[info.key] = info.val;
        accept?.();
      } else reject?.();
    });
    sshSession.on('window-change', (accept, _reject, info) => {
      accept?.();
      if (!this.pty) return;
      this.pty = { ...this.pty, cols: info.cols, rows: info.rows, width: info.width, height: info.height };
      if (this.state === 'running') {
        this.recorder?.resize(info.cols, info.rows);
        this.upstream?.setWindow(info.rows, info.cols, info.height, info.width);
      }
    });
    sshSession.on('signal', (accept, _reject, info) => {
      accept?.();
      if (this.state === 'running') this.upstream?.signal(info.name);
    });
    sshSession.on('auth-agent', (_accept, reject) => {
      reject?.();
      this.refuse('agent');
    });
    sshSession.on('x11', (_accept, reject) => {
      reject?.();
      this.refuse('x11');
    });
    sshSession.on('shell', (accept) => void this.start('shell', accept(), null));
    sshSession.on('exec', (accept, _reject, info) => {
      const scp = parseScpCommand(info.command);
      void this.start(scp ? 'scp' : 'exec', accept(), info.command);
    });
    sshSession.on('subsystem', (accept, _reject, info) => {
      if (info.name === 'sftp') return void this.start('sftp', accept(), null);
      const channel = accept();
      this.tellAndClose(channel, messages.subsystemRefused(info.name));
    });
  }

  /** The session is ending: tell the operator why (if there is a reason to give) and close. */
  async terminate(message?: string): Promise<void> {
    if (this.state === 'closed') {
      // Closed by tellAndClose: its message and exit status are on their way. OpenSSH reading
      // the disconnect in the same batch as the close exits 255 without them: wait for its answer.
      await this.finishing;
      await Promise.race([this.clientClosed, delay(TERMINATE_GRACE_MS / 2)]);
      return;
    }
    if (this.state === 'setup') {
      this.state = 'closed';
      return;
    }
    this.stopped = true;
    const client = this.client!;
    if (this.upstream) {
      this.upstream.close();
      // Drain what the target still sends (dropped: the relay is stopped).
      this.upstream.resume();
      this.upstream.stderr.resume();
    }
    if (client.writable) {
      if (message) {
        const line = Buffer.from(this.line(message));
        // The recording keeps the line the operator read, as it keeps the notice.
        this.recorder?.output(line);
        client.stderr.write(line);
      }
      // What was already queued for the operator, the message last, goes out first.
      await Promise.race([Promise.all([flushed(client), flushed(client.stderr, client)]), delay(TERMINATE_GRACE_MS)]);
      client.end();
    }
    // OpenSSH prints a channel's output before it answers the close; a disconnect that
    // comes first can cut the message off. Wait for the answer (briefly) before going on.
    await Promise.race([this.clientClosed, delay(TERMINATE_GRACE_MS / 2)]);
    await this.finish();
  }

  /** A line from the gateway on the operator's terminal (recorded as output, like the notice). */
  notice(text: string): void {
    if (this.state !== 'running' || !this.pty || !this.client?.writable) return;
    const line = Buffer.from(this.line(text));
    this.recorder?.output(line);
    this.client.stderr.write(line);
  }

  private refuse(kind: 'agent' | 'x11'): void {
    this.refused.push(kind === 'agent' ? messages.agentRefused : messages.x11Refused);
    this.session.forwardingRefused(kind);
  }

  private async start(kind: Kind, client: ServerChannel, command: string | null): Promise<void> {
    if (this.state !== 'setup' || !client) return;
    this.state = 'starting';
    this.kind = kind;
    this.client = client;
    repairChannelWrites(client);
    // Nothing is read from the operator until the upstream channel exists.
    client.pause();
    this.clientClosed = new Promise((resolve) => client.once('close', resolve));
    client.once('close', () => {
      this.stopped = true;
      this.upstream?.close();
      if (this.state === 'starting') void this.finish();
    });
    this.session.services.metrics.channels(kind);

    let upstream: UpstreamConnection;
    try {
      upstream = await this.session.ready;
    } catch (error) {
      return this.tellAndClose(client, errorMessage(error), true);
    }
    if (this.stopped) return void this.finish();

    const recordingPath = this.recordingPath(kind);
    try {
      this.recorder = await this.openRecording(recordingPath, kind, command);
      await this.session.evidence.addChannel({
        sessionId: this.session.id,
        channelId: this.id,
        kind,
        command,
        pty: this.pty ? { term: this.pty.term, cols: this.pty.cols, rows: this.pty.rows } : null,
        // The recording's time zero: a typed command's time is this plus its event time.
        startedAt: this.recorder.startedAt ?? new Date(),
        endedAt: null,
        exitCode: null,
        exitSignal: null,
        recordingPath,
        recordingBytes: null,
        recordingSha256: null,
      });
    } catch (error) {
      const detail = errorMessage(error);
      this.session.logger.error('cannot record an ssh channel', { channel: this.id, error: detail });
      // This channel says why itself; the session's other channels are ended with the reason.
      this.tellAndClose(client, messages.cannotRecord(detail), true);
      this.session.recordingFailed(detail);
      return;
    }
    if (this.stopped) return void this.finish();
    this.session.recordingStarted(recordingPath);

    let channel: ClientChannel;
    try {
      if (kind === 'shell') channel = await upstream.shell(this.pty, this.env);
      else if (kind === 'sftp') channel = await upstream.subsystem('sftp');
      else channel = await upstream.exec(command!, this.terminal(kind), this.env);
    } catch (error) {
      return this.tellAndClose(client, messages.upstreamFailed(this.session.access.target.name, errorMessage(error)), true);
    }
    if (this.stopped) {
      channel.close();
      return void this.finish();
    }
    this.upstream = channel;
    this.state = 'running';
    this.bridge(client, channel, kind, command);
  }

  private bridge(client: ServerChannel, upstream: ClientChannel, kind: Kind, command: string | null): void {
    const recorder = this.recorder;
    const notices = [...this.refused];
    const { notice } = this.session.services.context.config.ssh;
    if (this.pty && notice) notices.unshift(notice.replaceAll('{sessionId}', this.session.id));
    if (this.pty) notices.push(...this.session.warnings);
    for (const text of notices) {
      const line = Buffer.from(this.line(text));
      recorder?.output(line, 'stderr');
      client.stderr.write(line);
    }

    const taps = this.evidenceTaps(kind, command);
    const count = (direction: 'toClient' | 'fromClient', inner: Tap): Tap => ({
      chunk: (data) => {
        this.bytes[direction] += data.length;
        if (direction === 'toClient') this.session.transferred(data.length, 0);
        else this.session.transferred(0, data.length);
        return inner.chunk(data);
      },
      writable: () => inner.writable(),
    });
    const stopped = () => this.stopped;
    relay(upstream, client, count('toClient', taps.stdout), stopped);
    relay(upstream.stderr, client.stderr, count('toClient', taps.stderr), stopped);
    relay(client, upstream, count('fromClient', taps.stdin), stopped);
    client.on('end', () => upstream.end());
    client.resume();

    const exited = (code?: number | null, signal?: string, coreDumped?: boolean, description?: string) => {
      if (this.exit || (typeof code !== 'number' && !signal)) return;
      this.exit = {
        code: typeof code === 'number' ? code : null,
        signal: signal ? signal.replace(/^SIG/, '') : null,
        coreDumped: coreDumped === true,
        description: description || null,
      };
    };
    // A command that ends at once can have its exit status parsed in the same read as the
    // channel's confirmation, before this listener exists: ssh2 repeats it with 'close'.
    upstream.on('exit', exited);
    const stderrEnded = upstream.stderr.readableEnded ? Promise.resolve() : new Promise<void>((resolve) => upstream.stderr.once('end', resolve).once('close', resolve));
    const upstreamClosed = new Promise<void>((resolve) =>
      upstream.once('close', (code?: number | null, signal?: string, coreDumped?: boolean, description?: string) => {
        exited(code, signal, coreDumped, description);
        resolve();
      }),
    );
    this.bridged = Promise.all([upstreamClosed, Promise.race([stderrEnded, upstreamClosed.then(() => delay(1000))])]).then(async () => {
      if (!client.writable) return this.finish();
      // Everything the target sent reaches the operator before the exit status, as with sshd.
      await Promise.all([flushed(client), flushed(client.stderr, client)]);
      if (this.exit && !this.stopped) this.sendExit(client, this.exit);
      client.end();
      await this.finish();
    });
  }

  /**
   * Where the channel's bytes go before they are forwarded: the recording (stdout, stderr,
   * and stdin as input) for every channel, whatever its command or subsystem says — what a
   * command runs is the target shell's choice, so a channel that looks like scp is recorded
   * like any other. For sftp and scp the protocol is also followed, as an index of file
   * operations; a stream it cannot follow is flagged when the channel ends (`finish`).
   */
  private evidenceTaps(kind: Kind, command: string | null): { stdout: Tap; stderr: Tap; stdin: Tap } {
    const recorder = this.recorder!;
    const recorded = (write: (data: Buffer) => boolean): Tap => ({ chunk: write, writable: () => recorder.whenWritable() });
    const taps = {
      stdout: recorded((data) => recorder.output(data)),
      stderr: recorded((data) => recorder.output(data, 'stderr')),
      stdin: recorded((data) => recorder.input(data)),
    };
    if (kind !== 'sftp' && kind !== 'scp') return taps;
    const channelId = this.id;
    const sink = (op: ObservedFileOperation) => this.session.recordFileOperation(channelId, op);
    const index = kind === 'sftp' ? new SftpObserver(sink) : new ScpObserver(parseScpCommand(command!)!, sink);
    this.fileIndex = index;
    const files = this.session.files;
    const indexed = (tap: Tap, observe: (data: Buffer) => void): Tap => ({
      chunk: (data) => {
        const recorderHasRoom = tap.chunk(data);
        observe(data);
        return recorderHasRoom && files.hasRoom;
      },
      writable: () => Promise.all([tap.writable(), files.whenWritable()]).then(() => undefined),
    });
    return {
      stdout: indexed(taps.stdout, (data) => index.fromServer(data)),
      stderr: taps.stderr,
      stdin: indexed(taps.stdin, (data) => index.fromClient(data)),
    };
  }

  private sendExit(client: ServerChannel, exit: UpstreamExit): void {
    try {
      if (exit.signal) client.exit(exit.signal, exit.coreDumped, exit.description ?? '');
      else if (exit.code !== null) client.exit(exit.code);
    } catch (error) {
      this.session.logger.warn('could not pass an exit status on', { channel: this.id, error: errorMessage(error) });
    }
  }

  /** Writes `message` to the operator, exits 1 and closes; used when nothing can start. */
  private tellAndClose(client: ServerChannel, message: string, thenCloseConnection = false): void {
    this.stopped = true;
    // Nothing the operator sends goes anywhere now; reading it to its end lets the channel close.
    client.resume();
    if (client.writable) {
      client.stderr.write(this.line(message));
      void drained(client.stderr).then(() => {
        if (!client.writable) return;
        client.exit(1);
        client.end();
      });
    }
    client.once('close', () => {
      if (thenCloseConnection && this.session.failure) this.session.connection.end();
    });
    void this.finish();
  }

  private finish(): Promise<void> {
    return (this.finishing ??= (async () => {
      this.state = 'closed';
      let digest: RecordingDigest | null = null;
      if (this.recorder) {
        digest = await this.recorder.close(this.exit).catch((error: unknown) => {
          this.session.logger.error('could not finalize a recording', { channel: this.id, error: errorMessage(error) });
          return null;
        });
      }
      if (this.kind) {
        await this.session.evidence
          .updateChannel(this.session.id, this.id, {
            endedAt: new Date(),
            exitCode: this.exit?.code ?? null,
            exitSignal: this.exit?.signal ?? null,
            ...(digest ? { recordingBytes: digest.bytes, recordingSha256: digest.sha256 } : {}),
          })
          .catch((error: unknown) => this.session.logger.error('could not close a channel row', { channel: this.id, error }));
      }
      const index = this.fileIndex;
      this.fileIndex = null;
      if (index instanceof SftpObserver) index.finish();
      if (index?.broken) this.session.fileLogIncomplete(this.id, index.broken);
      this.session.channelFinished(this, digest, this.bytes);
    })());
  }

  private async openRecording(path: string, kind: Kind, command: string | null): Promise<SessionRecorder> {
    const pty = this.terminal(kind);
    const tags = this.session.tags(this.id, kind, pty !== null);
    const common = {
      path,
      recordInput: this.session.access.decision.recordInput,
      onFailure: (error: Error) => this.session.recordingFailed(error.message),
    };
    const title = `${tags.login}@${tags.target} (${tags.identity.name}, session ${this.session.id})`;
    const timestamp = Math.floor(Date.now() / 1000);
    if (!pty) {
      const what = kind === 'sftp' ? { subsystem: 'sftp' } : command !== null ? { command } : {};
      return this.session.services.writer.open({ ...common, format: 'bytes', header: { version: 1, timestamp, title, ...what, env: { ...this.env }, custos: tags } });
    }
    return this.session.services.writer.open({
      ...common,
      format: 'asciicast',
      header: {
        version: 2,
        width: pty.cols || DEFAULT_SIZE.cols,
        height: pty.rows || DEFAULT_SIZE.rows,
        timestamp,
        title,
        ...(command !== null ? { command } : {}),
        env: { TERM: pty.term, ...this.env },
        custos: tags,
      },
    });
  }

  /** A terminal channel's recording is asciicast (`.cast`); any other's a byte recording (`.bytes`). */
  private recordingPath(kind: Kind): string {
    const day = this.session.startedAt.toISOString().slice(0, 10);
    const extension = this.terminal(kind) ? 'cast' : 'bytes';
    return join(this.session.services.context.config.recordings.dir, day, `${this.session.id}.${this.id}.${extension}`);
  }

  /** The pty the upstream channel gets: file transfers never run on one (they need 8-bit clean bytes). */
  private terminal(kind: Kind): PtyRequest | null {
    return kind === 'shell' || kind === 'exec' ? this.pty : null;
  }

  private line(text: string): string {
    return this.pty ? `${text}\r\n` : `${text}\n`;
  }
}

function toPty(info: PseudoTtyInfo): PtyRequest {
  return {
    term: info.term,
    cols: info.cols,
    rows: info.rows,
    width: info.width,
    height: info.height,
    modes: (info.modes ?? {}) as Record<string, number>,
  };
}
