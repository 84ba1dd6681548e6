import { errorMessage } from '../core/errors.js';
import type { FileOperationRow } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { RecorderError } from './errors.js';

export type FileOperationEntry = Omit<FileOperationRow, 'id'>;

export interface FileOperationLogOptions {
  /** Rows are written at least this often while some are waiting. */
  flushMs?: number;
  /** Waiting rows at which `record` asks the producer to pause. */
  highWater?: number;
  onFailure?: (error: RecorderError) => void;
}

/**
 * The file operations of one session (SFTP and scp), written in batches: one multi-row
 * insert per interval. `record` returns false when too many rows wait — the channel then
 * stops reading until `whenWritable()` — so rows are never dropped and memory stays bounded.
 */
export class FileOperationLog {
  private queue: FileOperationEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private waiters: Array<() => void> = [];
  failure: RecorderError | null = null;
  private written = 0;

  constructor(
    private readonly store: Pick<Store, 'sessions'>,
    private readonly options: FileOperationLogOptions = {},
  ) {}

  get count(): number {
    return this.written + this.queue.length;
  }

  record(entry: FileOperationEntry): boolean {
    this.queue.push(entry);
    this.timer ??= setTimeout(() => this.flush().catch(() => undefined), this.options.flushMs ?? 200);
    return this.queue.length < (this.options.highWater ?? 5000);
  }

  get hasRoom(): boolean {
    return this.queue.length < (this.options.highWater ?? 5000);
  }

  whenWritable(): Promise<void> {
    if (this.failure || this.queue.length < (this.options.highWater ?? 5000) / 2) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes everything recorded so far; rejects if it cannot (the session then ends). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing) await this.writing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.store.sessions.addFileOperations(batch).then(
      () => {
        this.written += batch.length;
      },
      (err: unknown) => {
        this.queue = batch.concat(this.queue);
        const error = new RecorderError('file_log_failed', `file operations cannot be written: ${errorMessage(err)}`, { cause: err });
        if (!this.failure) {
          this.failure = error;
          this.options.onFailure?.(error);
        }
        throw error;
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = null;
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.queue.length > 0) await this.flush();
  }
}
