/**
 * Counts events per key in a sliding window (e.g. failed sign-ins per client address).
 * Memory is bounded: a key keeps at most `limit` times, and past `maxKeys` the stalest keys
 * are dropped.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until `key` may try again, or 0 if it is under the limit (or a lower one) now. */
  retryAfterMs(key: string, now = Date.now(), limit = this.limit): number {
    const times = this.recent(key, now);
    if (times.length < limit) return 0;
    return Math.max(1, times[times.length - limit]! + this.windowMs - now);
  }

  record(key: string, now = Date.now()): void {
    const times = this.recent(key, now);
    times.push(now);
    // Only the newest `limit` times can decide a wait.
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    this.hits.delete(key);
    this.hits.set(key, times);
    while (this.hits.size > this.maxKeys) this.hits.delete(this.hits.keys().next().value!);
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const times = (this.hits.get(key) ?? []).filter((time) => time > now - this.windowMs);
    if (times.length === 0) this.hits.delete(key);
    return times;
  }
}
