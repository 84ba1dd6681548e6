import type { Connection } from 'ssh2';

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
