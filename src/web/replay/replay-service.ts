import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../core/worker-thread.js';
import type { Logger } from '../../core/logger.js';
import type { RecordingFile } from '../../recorder/recording-location.js';
import { readLines, recordedWithoutPty } from './cast-lines.js';
import { SEGMENT_BYTES, segmentEvents, type ReplayScan, type TerminalSnapshot } from './replay-index.js';
import type { ReplayWorkerMessage, ReplayWorkerRequest } from './replay-worker-protocol.js';

export type { RecordingFile };

export interface SegmentPayload {
  snapshot: TerminalSnapshot;
  events: Array<[number, string, unknown]>;
}

interface Entry {
  key: string;
  path: string;
  scan: Promise<ReplayScan>;
  snapshots: Map<number, TerminalSnapshot>;
  waiters: Map<number, Array<{ resolve(snapshot: TerminalSnapshot): void; reject(error: Error): void }>>;
  failure: Error | null;
  worker: Worker | null;
}

export function recordingKey(file: RecordingFile): string {
  return `${file.size}-${Math.floor(file.mtimeMs)}`;
}

/**
 * Indexes recordings in worker threads and serves the segmented form asciinema-player
 * streams from. Keeps the last few indexes in memory; a file that changed (a live recording
 * growing) gets a new index.
 */
export class ReplayService {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: { logger: Logger; maxEntries?: number; segmentBytes?: number },
  ) {}

  async scan(file: RecordingFile): Promise<{ key: string; scan: ReplayScan }> {
    const entry = this.entry(file);
    return { key: entry.key, scan: await entry.scan };
  }

  /** Segment `index` of the indexed file with this key, or null if that version is gone. */
  async segment(file: RecordingFile, key: string, index: number): Promise<SegmentPayload | null> {
    const cacheKey = `${file.realPath}\0${key}`;
    const entry = this.entries.get(cacheKey) ?? (recordingKey(file) === key ? this.entry(file) : null);
    if (!entry) return null;
    const scan = await entry.scan;
    const segment = scan.segments[index];
    if (!segment) return null;
    const snapshot =
      index === 0
        ? { cols: scan.header.width || 80, rows: scan.header.height || 24, init: '' }
        : await this.snapshot(entry, index);
    const lines = await readLines(file.realPath, segment.offset, segment.end);
    return { snapshot, events: segmentEvents(lines, segment, index === 0, recordedWithoutPty(scan.header)) };
  }

  close(): void {
    for (const entry of this.entries.values()) void entry.worker?.terminate();
    this.entries.clear();
  }

  private snapshot(entry: Entry, index: number): Promise<TerminalSnapshot> {
    const ready = entry.snapshots.get(index);
    if (ready) return Promise.resolve(ready);
    if (entry.failure) return Promise.reject(entry.failure);
    return new Promise((resolve, reject) => {
      const list = entry.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      entry.waiters.set(index, list);
    });
  }

  private entry(file: RecordingFile): Entry {
    const cacheKey = `${file.realPath}\0${recordingKey(file)}`;
    const existing = this.entries.get(cacheKey);
    if (existing) {
      this.entries.delete(cacheKey);
      this.entries.set(cacheKey, existing);
      return existing;
    }
    const request: ReplayWorkerRequest = { path: file.realPath, segmentBytes: this.options.segmentBytes ?? SEGMENT_BYTES };
    const worker = startModuleWorker(new URL('./replay-worker.js', import.meta.url), request);
    const entry: Entry = {
      key: recordingKey(file),
      path: file.realPath,
      scan: null as unknown as Promise<ReplayScan>,
      snapshots: new Map(),
      waiters: new Map(),
      failure: null,
      worker,
    };
    const fail = (error: Error) => {
      entry.failure ??= error;
      for (const list of entry.waiters.values()) for (const waiter of list) waiter.reject(error);
      entry.waiters.clear();
    };
    entry.scan = new Promise<ReplayScan>((resolve, reject) => {
      worker.on('message', (message: ReplayWorkerMessage) => {
        if (message.type === 'scan') resolve(message.scan);
        else if (message.type === 'snapshot') {
          entry.snapshots.set(message.segment, message.snapshot);
          for (const waiter of entry.waiters.get(message.segment) ?? []) waiter.resolve(message.snapshot);
          entry.waiters.delete(message.segment);
        } else if (message.type === 'done') {
          entry.worker = null;
          void worker.terminate();
        } else {
          const error = new Error(message.message);
          reject(error);
          fail(error);
          this.entries.delete(cacheKey);
        }
      });
      worker.once('error', (err) => {
        reject(err);
        fail(err);
        this.entries.delete(cacheKey);
      });
      worker.once('exit', () => {
        if (entry.worker) fail(new Error('the recording indexer stopped before it finished'));
      });
    });
    entry.scan.catch((error: unknown) => this.options.logger.warn('could not index a recording', { path: file.realPath, error }));
    this.entries.set(cacheKey, entry);
    while (this.entries.size > (this.options.maxEntries ?? 8)) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      // Terminating fails the evicted entry's waiters (see the exit handler).
      void oldest.worker?.terminate();
      this.entries.delete(oldestKey);
    }
    return entry;
  }
}
