import type { Connection, ServerChannel } from 'ssh2';
import { onAnsweringSession } from './answering-session.js';
import { OPEN_FAILURE, rejectChannelOpen } from './ssh2-internals.js';

const GRACE_MS = 30_000;

/**
 * An authenticated connection that may not go anywhere (its identity was denied, or the
 * gateway cannot record a session now). It never connects upstream: every channel the
 * client opens gets the reason on stderr and exit status 1, every port forward is refused
 * with it, and the connection is closed after the first reply (or after a grace period).
 */
export function serveRefusal(connection: Connection, message: string): void {
  const close = () => connection.end();
  const timer = setTimeout(close, GRACE_MS);
  connection.once('close', () => clearTimeout(timer));
  onAnsweringSession(connection, (session) =>
    session.onStart((channel: ServerChannel) => {
      channel.stderr.write(`${message}${session.pty ? '\r\n' : '\n'}`);
      channel.exit(1);
      channel.end();
      channel.once('close', close);
    }, 'answer'),
  );
  connection.on('tcpip', (_accept, reject) => rejectChannelOpen(connection, reject, OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, message));
  connection.on('request', (_accept, reject) => reject?.());
}
