import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { AdminError } from './errors.js';

interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const native = createRequire(import.meta.url)('../../build/Release/peercred.node') as {
  getPeerCredentials(fd: number): PeerCredentials;
};

/** The kernel's word on who is connected to a Unix socket (SO_PEERCRED). */
export function peerCredentials(socket: Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new AdminError('unavailable', 'cannot read the peer of this connection');
  return native.getPeerCredentials(fd);
}

/** The login name of a uid from /etc/passwd, or `uid:<n>` when it has none. */
export function userNameOf(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // no passwd file (containers); fall through
  }
  return `uid:${uid}`;
}
