import { describe, expect, it } from 'vitest';
import { BatchSlots, unzeroed } from './batch-slots.js';

describe('BatchSlots', () => {
  it('hands out each slot once until it is given back, then again', () => {
    const slots = BatchSlots.create(1024, 3);
    const taken = [slots.take(), slots.take(), slots.take()];
    expect(new Set(taken).size).toBe(3);
    expect(slots.take()).toBeNull();
    slots.give(taken[1]!);
    expect(slots.take()).toBe(taken[1]);
  });

  it('gives views of its slots over the shared memory the writer thread reads', () => {
    const slots = BatchSlots.create(16, 2);
    slots.view(1).set([1, 2, 3]);
    const seen = new BatchSlots(slots.buffer, 16);
    expect([...seen.view(1, 3)]).toEqual([1, 2, 3]);
    expect([...seen.view(0, 3)]).toEqual([0, 0, 0]);
  });

  it('allocates buffers of their own that can be transferred', () => {
    const buffer = unzeroed(100);
    expect(buffer.buffer.byteLength).toBe(100);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(buffer, [buffer.buffer as ArrayBuffer]);
    expect(buffer.byteLength).toBe(0);
    port1.close();
    port2.close();
  });
});
