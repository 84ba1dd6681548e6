import type { Duplex } from 'node:stream';

/**
 * Pull-style reading of a client socket during negotiation and authentication, where the
 * gateway asks for "the next chunk" between its own writes. `detach` hands the socket over
 * (paused, listeners removed) once the conversation moves on.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private waiter: { resolve: (chunk: Buffer) => void; reject: (err: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(private readonly socket: Duplex) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** The next chunk; rejects when the client goes away or `abort` is called. */
  read(): Promise<Buffer> {
    const chunk = this.chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.ended) return Promise.reject(this.ended);
    this.socket.resume();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  abort(reason: Error): void {
    this.finish(reason);
  }

  /** Stops reading and returns what arrived but was not read. */
  detach(): Buffer[] {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.chunks;
    this.chunks = [];
    return rest;
  }

  private readonly onData = (chunk: Buffer) => {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.resolve(chunk);
    } else {
      this.chunks.push(chunk);
      this.socket.pause();
    }
  };

  private readonly onEnd = () => this.finish(new ClientGone('the client closed the connection'));
  private readonly onError = (err: Error) => this.finish(new ClientGone(`connection error: ${err.message}`));

  private finish(error: Error): void {
    this.ended ??= error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(this.ended);
  }
}

/** The client disconnected before the session started (not worth an audit event on its own). */
export class ClientGone extends Error {}
