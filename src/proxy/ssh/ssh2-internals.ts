import type { Connection, ServerChannel } from 'ssh2';

/** RFC 4254 §5.1 reason codes for SSH_MSG_CHANNEL_OPEN_FAILURE. */
export const OPEN_FAILURE = { ADMINISTRATIVELY_PROHIBITED: 1, CONNECT_FAILED: 2 } as const;

interface ProtocolWithOpenFailure {
  channelOpenFail(remote: number, reason: number, description: string): void;
}

/**
 * Refuses a channel open (a port forward) with a reason the client prints: OpenSSH shows
 * "channel N: open failed: administratively prohibited: <description>". ssh2's public
 * `reject()` sends no description, so the one call it makes is given ours. If ssh2's
 * internals ever change shape, the plain `reject()` still refuses the channel.
 */
export function rejectChannelOpen(connection: Connection, reject: () => void, reason: number, description: string): void {
  const protocol = (connection as unknown as { _protocol?: ProtocolWithOpenFailure })._protocol;
  const original = protocol?.channelOpenFail;
  if (!protocol || typeof original !== 'function') return reject();
  protocol.channelOpenFail = function (remote: number) {
    return original.call(this, remote, reason, description.slice(0, 400));
  };
  try {
    reject();
  } finally {
    protocol.channelOpenFail = original;
  }
}

interface ChannelWriteState {
  _write(data: Buffer, encoding: unknown, callback: (error?: Error | null) => void): void;
  _chunk?: Buffer;
  _chunkcb?: (error?: Error | null) => void;
  _chunkErr?: Buffer;
  _chunkcbErr?: (error?: Error | null) => void;
  _waitWindow: boolean;
  outgoing: { window: number; state: string };
  stderr: { _write(data: Buffer, encoding: unknown, callback: (error?: Error | null) => void): void };
}

/**
 * ssh2 (1.17) keeps a write that waits for the peer's window in `_chunk` (stdout) or
 * `_chunkErr` (stderr) and never clears it once sent. When stdout and stderr both wait, the
 * window adjust handler picks the (possibly stale) stdout chunk and the stderr write is
 * never resumed: stderr output — a "custos: …" notice written last, for one — is lost (see
 * ssh2-internals.test.ts). This clears each pending write once it completes and resumes the
 * other stream's waiting write while window is left, as the adjust handler assumes.
 */
export function repairChannelWrites(channel: ServerChannel): void {
  const state = channel as unknown as ChannelWriteState;
  if (typeof state._write !== 'function' || typeof state.stderr?._write !== 'function') return;
  const writeStdout = state._write.bind(state);
  const writeStderr = state.stderr._write.bind(state.stderr);
  const resumeWaiting = () => {
    if (state.outgoing.state !== 'open') return;
    const pending = state._chunkErr ? 'stderr' : state._chunk ? 'stdout' : null;
    if (!pending) return;
    if (state.outgoing.window === 0) {
      state._waitWindow = true;
      return;
    }
    if (pending === 'stderr') {
      const [data, callback] = [state._chunkErr!, state._chunkcbErr!];
      state._chunkErr = state._chunkcbErr = undefined;
      state.stderr._write(data, null, callback);
    } else {
      const [data, callback] = [state._chunk!, state._chunkcb!];
      state._chunk = state._chunkcb = undefined;
      state._write(data, null, callback);
    }
  };
  state._write = (data, encoding, callback) =>
    writeStdout(data, encoding, (error) => {
      state._chunk = state._chunkcb = undefined;
      callback(error);
      resumeWaiting();
    });
  state.stderr._write = (data, encoding, callback) =>
    writeStderr(data, encoding, (error) => {
      state._chunkErr = state._chunkcbErr = undefined;
      callback(error);
      resumeWaiting();
    });
}
