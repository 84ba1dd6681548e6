import { describe, expect, it } from 'vitest';
import { BatchBufferPool } from './batch-buffer-pool.js';

describe('BatchBufferPool', () => {
  it('hands a returned buffer out again for the next large batch', () => {
    const pool = new BatchBufferPool(1024 * 1024, 64 * 1024, 2);
    const first = pool.take(512 * 1024);
    expect(first).toMatchObject({ pooled: true });
    expect(first.data.byteLength).toBe(512 * 1024);
    const buffer = first.data.buffer as ArrayBuffer;
    pool.give(buffer);
    const second = pool.take(700 * 1024);
    expect(second.data.buffer).toBe(buffer);
    expect(second.data.byteLength).toBe(700 * 1024);
  });

  it('gives small and oversized batches buffers of their own size, never pooled', () => {
    const pool = new BatchBufferPool(1024 * 1024, 64 * 1024);
    for (const bytes of [0, 10, 64 * 1024 - 1, 1024 * 1024 + 1]) {
      const { data, pooled } = pool.take(bytes);
      expect(pooled).toBe(false);
      expect(data.buffer.byteLength).toBe(bytes);
    }
  });

  it('keeps at most its limit of free buffers, and only its own size', () => {
    const pool = new BatchBufferPool(128 * 1024, 64 * 1024, 1);
    const a = pool.take(100 * 1024).data.buffer as ArrayBuffer;
    const b = pool.take(100 * 1024).data.buffer as ArrayBuffer;
    pool.give(new ArrayBuffer(10));
    pool.give(a);
    pool.give(b);
    expect(pool.take(100 * 1024).data.buffer).toBe(a);
    expect(pool.take(100 * 1024).data.buffer).not.toBe(b);
  });
});
