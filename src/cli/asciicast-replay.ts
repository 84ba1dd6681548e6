/** `[seconds, code, data]` in time order; only "o" (output) is shown. */
export type ReplayEvent = [number, string, string];

export interface ReplayOptions {
  /** 2 plays twice as fast. */
  speed: number;
  /** Pauses longer than this (seconds, before speed) are shortened to it; 0 keeps them. */
  idleLimit: number;
  write(text: string): void;
  sleep(ms: number): Promise<void>;
  /** Checked between events: true stops the replay. */
  stopped?: () => boolean;
}

/** Plays the output of a recording with its timing, as `asciinema play` does. */
export async function replay(cast: { events: Iterable<ReplayEvent> | AsyncIterable<ReplayEvent> }, options: ReplayOptions): Promise<{ events: number; seconds: number }> {
  let previous = 0;
  let played = 0;
  let elapsed = 0;
  // Time spent on events that are not shown (input, resizes, markers) still passes.
  let pending = 0;
  for await (const [time, code, data] of cast.events) {
    if (options.stopped?.()) break;
    let gap = Math.max(0, time - previous);
    previous = time;
    if (options.idleLimit > 0) gap = Math.min(gap, options.idleLimit);
    pending += gap;
    if (code !== 'o') continue;
    const ms = (pending * 1000) / options.speed;
    if (ms >= 1) await options.sleep(ms);
    elapsed += pending;
    pending = 0;
    options.write(data);
    played += 1;
  }
  return { events: played, seconds: elapsed / options.speed };
}
