import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface WebhookOptions {
  url: string;
  logger: Logger;
  /** Tries per notification before it is given up (logged). */
  attempts?: number;
  /** The wait after the first failure; it doubles after each one, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One POST's time limit. */
  timeoutMs?: number;
  /** Notifications waiting at most; beyond it the oldest is dropped (logged). */
  maxQueued?: number;
}

/**
 * Outbound JSON notifications: `send` only queues (it never blocks or fails its caller); one
 * delivery at a time, in order, each POSTed until the receiver answers 2xx, retried with
 * exponential backoff, and given up (logged) after `attempts`. Delivery is at least once
 * while this process lives: a retry after a lost answer repeats a notification (each carries
 * an `id` to recognise it); what is queued when the process dies is lost.
 */
export class WebhookNotifier {
  private readonly queue: Array<Record<string, unknown>> = [];
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly wake = new Set<() => void>();

  constructor(private readonly options: WebhookOptions) {}

  send(body: Record<string, unknown>): void {
    if (this.stopped) return;
    if (this.queue.length >= (this.options.maxQueued ?? 1000)) {
      const dropped = this.queue.shift();
      this.options.logger.error('webhook queue full: a notification was dropped', { id: dropped?.id });
    }
    this.queue.push(body);
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Waits (up to `timeoutMs`) for what is queued to be delivered or given up; then stops. */
  async stop(timeoutMs = 5000): Promise<void> {
    const running = this.running;
    if (running) await Promise.race([running, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.stopped = true;
    for (const wake of this.wake) wake();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const body = this.queue[0]!;
      await this.deliver(body);
      this.queue.shift();
    }
  }

  private async deliver(body: Record<string, unknown>): Promise<void> {
    const attempts = this.options.attempts ?? 6;
    let delay = this.options.baseDelayMs ?? 1000;
    for (let attempt = 1; attempt <= attempts && !this.stopped; attempt++) {
      const problem = await this.post(body);
      if (problem === null) return;
      if (attempt === attempts) {
        this.options.logger.error('webhook notification given up', { id: body.id, attempts, problem });
        return;
      }
      this.options.logger.warn('webhook notification failed; retrying', { id: body.id, attempt, problem, retryInMs: delay });
      await this.sleep(delay);
      delay = Math.min(delay * 2, this.options.maxDelayMs ?? 60_000);
    }
  }

  /** Null when the receiver took it, else why not. */
  private async post(body: Record<string, unknown>): Promise<string | null> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'custos-webhook' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (err) {
      return errorMessage(err);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake.add(done);
    });
  }
}
