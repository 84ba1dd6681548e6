import type { ChainedAuditEvent } from '../core/audit-chain.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { AuditEventInput } from '../store/repositories/audit.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
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
 * written, so the caller can refuse to go on without evidence. A failed batch is not retried:
 * its callers were told and failed closed.
 */
export class AuditLog {
  private readonly writer: BatchWriter<Queued>;
  private readonly maxQueued: number;
  private readonly logger: Logger;
  private sessionTags: ((sessionId: string) => Record<string, unknown> | null) | null = null;

  constructor(
    private readonly store: Store,
    private readonly options: AuditLogOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.writer = new BatchWriter<Queued>({
      write: async (batch) => {
        const written = await this.store.audit.append(batch.map((item) => item.event));
        batch.forEach((item, i) => item.resolve(written[i]!));
        this.options.onAppended?.(written);
      },
      batchSize: 1000,
      flushDelayMs: 0,
      highWater: Math.floor(this.maxQueued / 2),
      retryMs: null,
      what: 'the audit log cannot be written',
      failureCode: 'audit_unavailable',
      onDropped: (batch, error) => {
        this.logger.error('audit append failed', { error, events: batch.length });
        this.options.onFailure?.(error);
        for (const item of batch) item.reject(error);
      },
    });
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
    if (this.writer.waiting >= this.maxQueued) {
      const error = new RecorderError('audit_overloaded', 'the audit log is too far behind to accept more events');
      this.options.onFailure?.(error);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.writer.push({ event: { ...event, time: event.time ?? new Date() }, resolve, reject }));
  }

  /** Resolves when everything recorded so far has been written (or has failed). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  get pending(): number {
    return this.writer.queued;
  }
}
