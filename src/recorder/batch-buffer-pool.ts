/**
 * Buffers that carry recorders' batches to the writer thread and come back with its
 * acknowledgement, so bulk output is copied into memory that is already there instead of a
 * fresh allocation per batch. Small batches (interactive output) get a buffer of their own
 * size: a large pooled one would sit in the queue for a few bytes.
 */
export class BatchBufferPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    /** Size of the pooled buffers: the largest batch they carry. */
    readonly bufferBytes: number,
    /** Batches smaller than this are not pooled. */
    private readonly minPooledBytes = 64 * 1024,
    /** Free buffers kept for reuse (the rest are left to the garbage collector). */
    private readonly maxFree = 4,
  ) {}

  /** A buffer of exactly `bytes` (a view of a pooled one when `pooled`). */
  take(bytes: number): { data: Uint8Array; pooled: boolean } {
    if (bytes < this.minPooledBytes || bytes > this.bufferBytes) return { data: unzeroed(bytes), pooled: false };
    const buffer = this.free.pop() ?? unzeroed(this.bufferBytes).buffer;
    return { data: new Uint8Array(buffer, 0, bytes), pooled: true };
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.bufferBytes && this.free.length < this.maxFree) this.free.push(buffer);
  }
}

/** Memory of its own (transferable), not zero-filled: every byte is written before it is sent. */
function unzeroed(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}
