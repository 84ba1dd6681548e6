import { open, readFile } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/store.js';
import type { Checkpoint } from './chain-checkpoints.js';
import { RecorderError } from './errors.js';

/** One line of the anchor file. */
export interface AnchorLine {
  seq: number;
  hash: string;
  /** When the gateway read this head. */
  time: string;
  node: string;
}

/** What the anchor reports into the chain (the gateway's audit log). */
export type AnchorEvent =
  | { type: 'audit.anchor.failed'; data: { file: string; error: string } }
  | { type: 'audit.anchor.mismatch'; data: { file: string; anchored: { seq: number; hash: string }; found: string } };

/**
 * Keeps the chain's head outside the store (`audit.anchor: FILE`): at start, every interval
 * when the head moved, and at stop, one JSON line `{seq, hash, time, node}` is appended
 * (O_APPEND, fsync, mode 0600) to a file the store's users cannot rewrite. `custos verify`
 * checks that the chain still holds the newest line: removing events from the end, or
 * rewriting any event up to it (recomputing every hash after), no longer goes unnoticed.
 *
 * The anchor only moves forward over the chain it anchored: before appending, the chain must
 * still hold the newest line (else a truncated or rewritten chain would be anchored over and
 * `verify` would pass); when it does not, nothing more is appended, an `audit.anchor.mismatch`
 * event is written and an error logged. A file that cannot be written at start stops the
 * start (fail closed); later write failures are logged, written as `audit.anchor.failed`
 * (once per failing spell) and retried every interval — the chain itself keeps being written.
 */
export class AuditAnchor {
  private timer: NodeJS.Timeout | null = null;
  private anchored: { seq: number; hash: string } | null = null;
  private running: Promise<void> = Promise.resolve();
  private failing = false;
  private mismatched = false;

  constructor(
    private readonly store: Pick<Store, 'audit'>,
    private readonly options: {
      file: string;
      intervalMs: number;
      node: string;
      logger: Logger;
      /** Writes an anchor problem into the audit chain. */
      report?: (event: AnchorEvent) => Promise<unknown>;
    },
  ) {}

  async start(): Promise<void> {
    this.anchored = await newestAnchor(this.options.file).catch((err: unknown) => {
      if ((err as { cause?: { code?: string } }).cause?.code === 'ENOENT') return null;
      throw err;
    });
    try {
      await this.anchor();
    } catch (err) {
      throw new RecorderError('anchor_unwritable', `the audit anchor file ${this.options.file} cannot be written (${errorMessage(err)})`);
    }
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** The last anchor, after everything the gateway wrote (call after the final audit flush). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tick();
  }

  private tick(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        await this.anchor();
        if (this.failing) this.options.logger.info('the audit anchor file is written again', { file: this.options.file });
        this.failing = false;
      } catch (error) {
        this.options.logger.error('could not append to the audit anchor file; retrying every interval', { file: this.options.file, error: errorMessage(error) });
        if (!this.failing) await this.report({ type: 'audit.anchor.failed', data: { file: this.options.file, error: errorMessage(error) } });
        this.failing = true;
      }
    });
    return this.running;
  }

  private async anchor(): Promise<void> {
    const head = await this.store.audit.head();
    if (!head) return;
    const anchored = this.anchored;
    if (anchored && head.seq === anchored.seq && head.hash === anchored.hash) return;
    if (anchored && !(await this.chainHolds(anchored))) return;
    await appendAnchorLine(this.options.file, { seq: head.seq, hash: head.hash, time: new Date().toISOString(), node: this.options.node });
    this.anchored = { seq: head.seq, hash: head.hash };
  }

  /** Whether the event at the anchored seq still has the anchored hash (reported once when not). */
  private async chainHolds(anchored: { seq: number; hash: string }): Promise<boolean> {
    const [event] = await this.store.audit.page(anchored.seq - 1, 1);
    if (event?.seq === anchored.seq && event.hash === anchored.hash) return true;
    if (!this.mismatched) {
      this.mismatched = true;
      const found = event?.seq === anchored.seq ? `event ${anchored.seq} now has hash ${event.hash}` : `the chain has no event ${anchored.seq}`;
      this.options.logger.error('the audit chain no longer holds the anchored head: events were removed or rewritten; the anchor is not moved', {
        file: this.options.file,
        anchored,
        found,
      });
      await this.report({ type: 'audit.anchor.mismatch', data: { file: this.options.file, anchored, found } });
    }
    return false;
  }

  private async report(event: AnchorEvent): Promise<void> {
    await this.options.report?.(event).catch((error: unknown) => this.options.logger.error('could not record an audit anchor problem', { type: event.type, error: errorMessage(error) }));
  }
}

export async function appendAnchorLine(file: string, line: AnchorLine): Promise<void> {
  const handle = await open(file, 'a+', 0o600);
  try {
    // After a torn last line (a crash mid-append) the new line starts on a line of its own.
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    const torn = size > 0 && (await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] !== 0x0a;
    await handle.appendFile(`${torn ? '\n' : ''}${JSON.stringify(line)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The newest line of an anchor file as a checkpoint (its hash covers every event before it,
 * so it is the one that matters); null when the file has no line yet. A torn last line (a
 * crash while appending) is skipped.
 */
export async function newestAnchor(file: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RecorderError('anchor_unreadable', `the audit anchor file ${file} cannot be read (${errorMessage(err)}); the gateway writes it at every start`, { cause: err });
  }
  const lines = text.split('\n').filter((line) => line.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const parsed = JSON.parse(lines[i]!) as Partial<AnchorLine>;
      if (Number.isSafeInteger(parsed.seq) && typeof parsed.hash === 'string' && /^[0-9a-f]{64}$/.test(parsed.hash)) {
        return { seq: parsed.seq!, hash: parsed.hash, source: `anchor ${file}, written ${String(parsed.time)} by ${String(parsed.node)}` };
      }
    } catch {
      // a torn line: the one before it is the newest complete anchor
    }
  }
  return null;
}
