/**
 * The seam every protocol front end implements (SSH, PostgreSQL, Kubernetes, web).
 * `start` binds and resolves once accepting; aborting the signal stops accepting new
 * connections. `stop` ends what is still live (recordings closed, session rows ended).
 */
export interface Listener {
  readonly protocol: string;
  start(signal: AbortSignal): Promise<ListenAddress>;
  stop(options?: { graceMs?: number }): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Splits `host:port` (IPv6 as `[::1]:2222`). */
export function parseHostPort(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new RangeError(`"${text}" is not host:port`);
  const port = Number(match[3]);
  if (port > 65535) throw new RangeError(`"${text}": port ${port} is out of range`);
  return { host: (match[1] ?? match[2])!, port };
}

export function formatHostPort(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
