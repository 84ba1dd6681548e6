/**
 * Large buffers that carry bulk output to the writer thread and come back with its
 * acknowledgement, so bulk output is copied into memory that is already there instead of
 * a fresh allocation per batch.
 */
export class BatchBufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    /** Size of the pooled buffers: the largest batch they carry. */
    readonly bufferBytes: number,
    /** Free buffers kept for reuse (the rest are left to the garbage collector). */
    private readonly maxFree = 4,
  ) {}

  take(): Uint8Array {
    const buffer = this.free.pop();
    return buffer ? new Uint8Array(buffer) : unzeroed(this.bufferBytes);
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.bufferBytes && this.free.length < this.maxFree) this.free.push(buffer);
  }
}

/** Memory of its own (transferable), not zero-filled: every byte is written before it is sent. */
export function unzeroed(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}
