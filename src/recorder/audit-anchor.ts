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

/**
 * Keeps the chain's head outside the store (`audit.anchor: FILE`): at start, every interval
 * when the head moved, and at stop, one JSON line `{seq, hash, time, node}` is appended
 * (O_APPEND, fsync) to a file the store's users cannot rewrite. `custos verify` checks that
 * the chain still holds the newest line: removing events from the end, or rewriting any
 * event up to it (recomputing every hash after), no longer goes unnoticed.
 */
export class AuditAnchor {
  private timer: NodeJS.Timeout | null = null;
  private last: string | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<Store, 'audit'>,
    private readonly options: { file: string; intervalMs: number; node: string; logger: Logger },
  ) {}

  async start(): Promise<void> {
    await this.anchor();
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
    this.running = this.running.then(() =>
      this.anchor().catch((error: unknown) => this.options.logger.error('could not append to the audit anchor file', { file: this.options.file, error: errorMessage(error) })),
    );
    return this.running;
  }

  private async anchor(): Promise<void> {
    const head = await this.store.audit.head();
    if (!head) return;
    const key = `${head.seq}:${head.hash}`;
    if (key === this.last) return;
    await appendAnchorLine(this.options.file, { seq: head.seq, hash: head.hash, time: new Date().toISOString(), node: this.options.node });
    this.last = key;
  }
}

export async function appendAnchorLine(file: string, line: AnchorLine): Promise<void> {
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.appendFile(`${JSON.stringify(line)}\n`);
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
    throw new RecorderError('anchor_unreadable', `the audit anchor file ${file} cannot be read (${errorMessage(err)}); the gateway writes it at every start`);
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
