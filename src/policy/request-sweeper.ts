import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RequestService } from './request-service.js';

/**
 * Makes requests expire and grants end on time even when nobody touches anything: sweeps at
 * the next moment something falls due (and at least every `pollMs`, to learn of grants other
 * gateways made), and when told a request changed here. Every gateway sharing a store runs
 * one; the sweep's conditional updates make sure each expiry is written once.
 */
export class RequestSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly service: Pick<RequestService, 'sweep' | 'nextDue'>,
    private readonly options: { logger: Logger; pollMs?: number },
  ) {}

  start(): void {
    this.poke();
  }

  /** Sweep now (a request changed: something may fall due sooner). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 30_000;
    let waitMs = pollMs;
    try {
      const swept = await this.service.sweep();
      if (swept.expired || swept.ended) this.options.logger.info('requests swept', swept);
      const next = await this.service.nextDue();
      if (next) waitMs = Math.max(0, Math.min(pollMs, next.getTime() - Date.now()));
    } catch (error) {
      this.options.logger.error('could not sweep requests and grants', { error: errorMessage(error) });
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poke();
    }, waitMs);
    this.timer.unref();
  }
}
