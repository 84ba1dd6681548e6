import { readFile, rename, writeFile } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import type { AuditSink } from './audit-sinks.js';

export interface AuditStreamOptions {
  sink: AuditSink;
  /** Remembers the last seq delivered, so a restart resumes where delivery stopped. */
  cursorFile: string;
  logger: Logger;
  /** How often the chain is read for new events when nothing pokes the stream. */
  pollMs?: number;
  /** Most events read and handed to the sink at once: all the stream ever holds. */
  batch?: number;
  maxBackoffMs?: number;
}

/**
 * Streams every audit event to a sink (`audit.stream`) by following the chain in the store,
 * not the writers: a chain write never waits for the sink, and no event is lost while the
 * sink is slow or down. The stream holds at most one batch; while the sink is slow it falls
 * behind (the `custos_audit_stream_lag_events` gauge), while it is down delivery is retried
 * with backoff up to 30 s and resumes from the first event not delivered, in order. The
 * cursor file makes a restart resume the same way (delivery is at least once: a batch
 * handed over just before a crash is sent again; `seq` identifies repeats). The first start
 * with a sink begins at the current head: earlier history is exported with
 * `custos audit ls --format jsonl` in the same records.
 */
export class AuditStream {
  private cursor = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private failing = false;
  private headSeq = 0;

  constructor(
    private readonly store: Pick<Store, 'audit'>,
    private readonly options: AuditStreamOptions,
  ) {}

  async start(): Promise<void> {
    const saved = await readCursor(this.options.cursorFile);
    if (saved && saved.sink === this.options.sink.name) this.cursor = saved.seq;
    else {
      this.cursor = (await this.store.audit.head())?.seq ?? 0;
      await this.saveCursor();
    }
    this.running = true;
    this.loop = this.run();
  }

  /** New events were written (by this process): read them now instead of at the next poll. */
  poke(): void {
    this.wake?.();
  }

  /** Events written to the chain but not yet delivered (as of the last read). */
  get lag(): number {
    return Math.max(0, this.headSeq - this.cursor);
  }

  get delivered(): number {
    return this.cursor;
  }

  /** Delivers what it can within `graceMs`, then stops (the rest goes at the next start). */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && !this.failing && ((await this.store.audit.head())?.seq ?? 0) > this.cursor) {
      this.poke();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.running = false;
    this.poke();
    await this.options.sink.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 500;
    const batch = this.options.batch ?? 500;
    let backoff = 1000;
    while (this.running) {
      let delivered = 0;
      try {
        const events = await this.store.audit.page(this.cursor, batch);
        this.headSeq = Math.max(this.headSeq, events.at(-1)?.seq ?? this.cursor);
        if (events.length > 0 && this.running) {
          await this.options.sink.write(events);
          this.cursor = events.at(-1)!.seq;
          delivered = events.length;
          await this.saveCursor();
          if (this.failing) this.options.logger.info('the audit stream delivers again', { sink: this.options.sink.name, seq: this.cursor });
          this.failing = false;
          backoff = 1000;
        }
      } catch (error) {
        if (!this.failing) this.options.logger.warn('the audit stream cannot deliver; retrying (nothing is lost, the chain is unaffected)', { sink: this.options.sink.name, seq: this.cursor, error: errorMessage(error) });
        this.failing = true;
        await this.pause(backoff, false);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 30_000);
        continue;
      }
      if (delivered < batch) await this.pause(pollMs, true);
    }
  }

  private pause(ms: number, wakeable: boolean): Promise<void> {
    // Stopping (a write that failed because stop closed the sink): no backoff to sit out.
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = wakeable || !this.running ? done : () => (this.running ? undefined : done());
    });
  }

  private async saveCursor(): Promise<void> {
    const temporary = `${this.options.cursorFile}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ sink: this.options.sink.name, seq: this.cursor })}\n`, { mode: 0o600 });
    await rename(temporary, this.options.cursorFile);
  }
}

async function readCursor(file: string): Promise<{ sink: string; seq: number } | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { sink?: unknown; seq?: unknown };
    return typeof parsed.sink === 'string' && Number.isSafeInteger(parsed.seq) ? { sink: parsed.sink, seq: parsed.seq as number } : null;
  } catch {
    return null;
  }
}
