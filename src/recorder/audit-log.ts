import type { ChainedAuditEvent } from '../core/audit-chain.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { AuditEventInput } from '../store/repositories/audit.js';
import type { Store } from '../store/store.js';
import { RecorderError } from './errors.js';

interface Queued {
  event: AuditEventInput;
  resolve(event: ChainedAuditEvent): void;
  reject(error: RecorderError): void;
}

export interface AuditLogOptions {
  /** Most events waiting at once; beyond it `record` refuses (callers fail closed). */
  maxQueued?: number;
  logger?: Logger;
  onAppended?: (events: ChainedAuditEvent[]) => void;
  onFailure?: (error: RecorderError) => void;
}

/**
 * The gateway's writer of runtime audit events (decisions, session start/end, protocol
 * errors). Events recorded in the same tick go to the store as one batch, one transaction,
 * one chain lock; `record` resolves once its event is durable and rejects if it could not be
 * written, so the caller can refuse to go on without evidence.
 */
export class AuditLog {
  private queue: Queued[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private readonly maxQueued: number;
  private readonly logger: Logger;
  private sessionTags: ((sessionId: string) => Record<string, unknown> | null) | null = null;

  constructor(
    private readonly store: Store,
    private readonly options: AuditLogOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 10_000;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Tags every event of a session with what the session carries (its approval): whoever
   * records an event about a session need not know them.
   */
  tagSessionEvents(tags: (sessionId: string) => Record<string, unknown> | null): void {
    this.sessionTags = tags;
  }

  record(event: AuditEventInput): Promise<ChainedAuditEvent> {
    const tags = event.sessionId && this.sessionTags ? this.sessionTags(event.sessionId) : null;
    if (tags) event = { ...event, data: { ...tags, ...event.data } };
    if (this.queue.length >= this.maxQueued) {
      const error = new RecorderError('audit_overloaded', 'the audit log is too far behind to accept more events');
      this.options.onFailure?.(error);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ event: { ...event, time: event.time ?? new Date() }, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writing || this.scheduled) {
      if (this.writing) await this.writing;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.writing = this.writeBatch().finally(() => {
        this.writing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.splice(0, 1000);
    if (batch.length === 0) return;
    try {
      const written = await this.store.audit.append(batch.map((item) => item.event));
      batch.forEach((item, i) => item.resolve(written[i]!));
      this.options.onAppended?.(written);
    } catch (err) {
      const error = new RecorderError('audit_unavailable', `the audit log cannot be written: ${errorMessage(err)}`, { cause: err });
      this.logger.error('audit append failed', { error, events: batch.length });
      this.options.onFailure?.(error);
      for (const item of batch) item.reject(error);
    }
  }
}
