import type { FileOperationRow } from '../store/repositories/sessions.js';
import type { Store } from '../store/store.js';
import { BatchWriter } from './batch-writer.js';
import type { RecorderError } from './errors.js';

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
 * A failed write is retried; the session is told at once (it ends rather than go on).
 */
export class FileOperationLog {
  private readonly writer: BatchWriter<FileOperationEntry>;
  private readonly highWater: number;
  private written = 0;

  constructor(
    store: Pick<Store, 'sessions'>,
    options: FileOperationLogOptions = {},
  ) {
    this.highWater = options.highWater ?? 5000;
    this.writer = new BatchWriter<FileOperationEntry>({
      write: (batch) => store.sessions.addFileOperations(batch),
      batchSize: 1000,
      flushDelayMs: options.flushMs ?? 200,
      highWater: this.highWater,
      retryMs: 1000,
      what: 'file operations cannot be written',
      failureCode: 'file_log_failed',
      onWritten: (count) => (this.written += count),
      ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    });
  }

  get failure(): RecorderError | null {
    return this.writer.failure;
  }

  get count(): number {
    return this.written + this.writer.queued;
  }

  record(entry: FileOperationEntry): boolean {
    this.writer.push(entry);
    return this.hasRoom;
  }

  get hasRoom(): boolean {
    return this.writer.queued < this.highWater;
  }

  whenWritable(): Promise<void> {
    return this.writer.whenWritable();
  }

  /** Writes everything recorded so far; rejects if it cannot (the session then ends). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Stops retrying (after the session's final flush). */
  close(): Promise<void> {
    return this.writer.close();
  }
}
