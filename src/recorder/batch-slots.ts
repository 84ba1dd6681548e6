/**
 * Slots of one SharedArrayBuffer that carry bulk output to the writer thread: the gateway
 * thread copies bytes into a free slot, the writer thread writes them from there and frees
 * it. Nothing is allocated or transferred per batch — a transferred buffer counts as new
 * external memory each time it arrives, and made V8 run a full garbage collection every few
 * dozen megabytes of output.
 */
export class BatchSlots {
  private readonly free: number[];

  constructor(
    readonly buffer: SharedArrayBuffer,
    /** Bytes per slot: the largest batch a slot carries. */
    readonly slotBytes: number,
  ) {
    const count = Math.floor(buffer.byteLength / slotBytes);
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  static create(slotBytes: number, count: number): BatchSlots {
    return new BatchSlots(new SharedArrayBuffer(slotBytes * count), slotBytes);
  }

  /** A free slot, or null when all are in flight (the caller uses a buffer of its own). */
  take(): number | null {
    return this.free.pop() ?? null;
  }

  give(slot: number): void {
    this.free.push(slot);
  }

  view(slot: number, length = this.slotBytes): Uint8Array {
    return new Uint8Array(this.buffer, slot * this.slotBytes, length);
  }
}

/** Memory of its own (transferable), not zero-filled: every byte is written before it is sent. */
export function unzeroed(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}
