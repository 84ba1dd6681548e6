import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { BatchWriter, type BatchWriterOptions } from './batch-writer.js';

/** A store stand-in: records batches; a gate holds writes; `failing` makes them throw. */
function sink() {
  const state = {
    batches: [] as number[][],
    gate: null as Promise<void> | null,
    failing: false,
    write: async (batch: number[]) => {
      if (state.gate) await state.gate;
      if (state.failing) throw new Error('disk full');
      state.batches.push(batch);
    },
  };
  return state;
}

const writer = (s: ReturnType<typeof sink>, options: Partial<BatchWriterOptions<number>> = {}) =>
  new BatchWriter<number>({ write: s.write, batchSize: 4, flushDelayMs: 20, highWater: 6, what: 'the test log cannot be written', failureCode: 'test_failed', ...options });

describe('BatchWriter', () => {
  it('writes a full batch at once and a partial one after the delay, in order', async () => {
    const s = sink();
    const w = writer(s);
    for (const n of [1, 2, 3, 4, 5]) w.push(n);
    await waitFor(() => s.batches.length === 2, { what: 'both batches' });
    expect(s.batches).toEqual([[1, 2, 3, 4], [5]]);
    expect(w.queued).toBe(0);
  });

  it('flush waits for what was queued before it, not after', async () => {
    const s = sink();
    const w = writer(s, { flushDelayMs: 10_000 });
    w.push(1);
    w.push(2);
    const flushed = w.flush();
    w.push(3);
    await flushed;
    expect(s.batches.flat()).toEqual([1, 2]);
    await w.close();
    expect(s.batches.flat()).toEqual([1, 2, 3]);
  });

  it('reports congestion at the high-water mark and clears it below the low-water mark', async () => {
    const s = sink();
    let open!: () => void;
    s.gate = new Promise((resolve) => (open = resolve));
    const w = writer(s, { batchSize: 100 });
    const seen: boolean[] = [];
    w.onCongestion((congested) => seen.push(congested));
    for (let n = 0; n < 6; n++) w.push(n);
    expect(w.congested).toBe(true);
    let writable = false;
    void w.whenWritable().then(() => (writable = true));
    const flushed = w.flush();
    s.gate = null;
    open();
    await flushed;
    expect(seen).toEqual([true, false]);
    expect(writable).toBe(true);
  });

  it('keeps the items and retries when the store fails, telling the owner once', async () => {
    const s = sink();
    const failures: string[] = [];
    let recovered = 0;
    const w = writer(s, { retryMs: 30, onFailure: (error) => failures.push(error.message), onRecovered: () => recovered++ });
    s.failing = true;
    for (const n of [1, 2, 3, 4]) w.push(n);
    await expect(w.flush()).rejects.toThrow('the test log cannot be written: disk full');
    expect(w.failure?.code).toBe('test_failed');
    w.push(5);
    s.failing = false;
    await waitFor(() => s.batches.flat().length === 5, { what: 'the retry' });
    expect(s.batches.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(failures).toEqual(['the test log cannot be written: disk full']);
    expect(recovered).toBe(1);
    expect(w.failure).toBeNull();
  });

  it('hands a failed batch back to its owner and goes on when it must not retry', async () => {
    const s = sink();
    const dropped: number[][] = [];
    const w = writer(s, { retryMs: null, onDropped: (batch) => dropped.push(batch) });
    s.failing = true;
    for (const n of [1, 2, 3, 4]) w.push(n);
    await w.flush();
    s.failing = false;
    w.push(5);
    await w.flush();
    expect(dropped).toEqual([[1, 2, 3, 4]]);
    expect(s.batches).toEqual([[5]]);
    expect(w.failure).toBeNull();
  });
});
