import { describe, expect, it } from 'vitest';
import { BatchBufferPool, unzeroed } from './batch-buffer-pool.js';

describe('BatchBufferPool', () => {
  it('hands a returned buffer out again', () => {
    const pool = new BatchBufferPool(1024 * 1024, 2);
    const first = pool.take();
    expect(first.byteLength).toBe(1024 * 1024);
    pool.give(first.buffer as ArrayBuffer);
    expect(pool.take().buffer).toBe(first.buffer);
    expect(pool.take().buffer).not.toBe(first.buffer);
  });

  it('keeps at most its limit of free buffers, and only of its own size', () => {
    const pool = new BatchBufferPool(128 * 1024, 1);
    const a = pool.take().buffer as ArrayBuffer;
    const b = pool.take().buffer as ArrayBuffer;
    pool.give(new ArrayBuffer(10));
    pool.give(a);
    pool.give(b);
    expect(pool.take().buffer).toBe(a);
    expect(pool.take().buffer).not.toBe(b);
  });

  it('allocates buffers of their own that can be transferred', () => {
    const buffer = unzeroed(100);
    expect(buffer.byteLength).toBe(100);
    expect(buffer.buffer.byteLength).toBe(100);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(buffer, [buffer.buffer as ArrayBuffer]);
    expect(buffer.byteLength).toBe(0);
    port1.close();
    port2.close();
  });
});
