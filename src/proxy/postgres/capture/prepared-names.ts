import type { Budget } from './capture-budget.js';
import { ResponseQueue } from './response-queue.js';

/** Anything kept by name: what it costs against the session's budget. */
export interface Held {
  readonly bytes: number;
}

export type Change<V> =
  /** Creates the name, or replaces it (the unnamed statement and portal are replaced silently). */
  | { kind: 'define'; key: string; value: V; replacedBecause: string }
  | { kind: 'remove'; key: string; reason: string }
  /** Removes every name but those `keep` keeps. */
  | { kind: 'removeAll'; reason: string; keep?: (value: V) => boolean };

/** Something a pending change can be told about: the server did it, or did not. */
export interface Settleable {
  settle(applied: boolean): void;
}

/** A change the client asked for that the server has not answered yet. */
export class PendingChange<V extends Held> implements Settleable {
  settled = false;

  constructor(
    private readonly owner: PreparedNames<V>,
    readonly change: Change<V>,
    /** The batch of the message (see CaptureState.batch). */
    readonly batch: number,
    readonly seq: number,
  ) {}

  settle(applied: boolean): void {
    this.owner.settle(this, applied);
  }
}

/** A name whose value depends on a change in an earlier batch that the server has not answered: wait for it. */
export const UNCERTAIN = Symbol('uncertain');

/**
 * One namespace of the server's session state — prepared statements, or portals — as the
 * server holds it (`confirmed`: changed only when the server answers), and as it will be once
 * the server has processed what the client already sent (pending changes, in order).
 *
 * A message that names a statement or portal is captured before it is forwarded, so its name
 * is resolved against the pending changes too. Within one batch (up to a Sync, or one Query)
 * that is exact for every message the server runs: if a change of the batch fails, the server
 * skips the rest of the batch. A change in an earlier batch may have failed without stopping
 * the later one, so a name whose latest change lies there is UNCERTAIN until the server answers.
 * Pending changes are answered in the order they were made.
 */
export class PreparedNames<V extends Held> {
  private readonly confirmed = new Map<string, V>();
  private readonly latestByKey = new Map<string, { count: number; change: PendingChange<V> }>();
  private removeAllCount = 0;
  private latestRemoveAll: PendingChange<V> | null = null;
  private readonly pending = new ResponseQueue<PendingChange<V>>();
  private seq = 0;

  constructor(
    private readonly options: {
      budget: Budget;
      /** DEALLOCATE ALL and DISCARD ALL leave the unnamed statement alone. */
      removeAllSparesUnnamed: boolean;
      onRemoved?: (value: V, reason: string) => void;
    },
  ) {}

  /** What the server holds under a key, as far as it has answered. */
  get(key: string): V | undefined {
    return this.confirmed.get(key);
  }

  get size(): number {
    return this.confirmed.size;
  }

  /** Whether the key is held or has a change pending (a removal of anything else changes nothing). */
  touches(key: string): boolean {
    return this.confirmed.has(key) || this.latestByKey.has(key);
  }

  /** Nothing held and nothing pending. */
  get empty(): boolean {
    return this.confirmed.size === 0 && this.pending.length === 0;
  }

  /** What the key will hold when the server reaches a message of `batch`, or UNCERTAIN. */
  lookup(key: string, batch: number): V | null | typeof UNCERTAIN {
    const own = this.latestByKey.get(key)?.change;
    const removeAll = key === '' && this.options.removeAllSparesUnnamed ? null : this.latestRemoveAll;
    if (!own && !removeAll) return this.confirmed.get(key) ?? null;
    if (own && (!removeAll || own.seq > removeAll.seq)) {
      if (own.batch < batch) return UNCERTAIN;
      return own.change.kind === 'define' ? own.change.value : null;
    }
    if ((this.pending.peek()?.batch ?? batch) < batch) return UNCERTAIN;
    return this.replay(key);
  }

  /** The value the key most likely holds, certain or not (for messages the server skips anyway). */
  guess(key: string): V | null {
    const own = this.latestByKey.get(key)?.change;
    if (own && (!this.latestRemoveAll || own.seq > this.latestRemoveAll.seq)) return own.change.kind === 'define' ? own.change.value : null;
    return this.replay(key);
  }

  /** Records a change the server will make if it processes the message. Throws when a definition is past the budget. */
  expect(change: Change<V>, batch: number): PendingChange<V> {
    if (change.kind === 'define' && change.key !== '') this.options.budget.reserve(change.value.bytes);
    const pending = new PendingChange(this, change, batch, ++this.seq);
    if (change.kind === 'removeAll') {
      this.removeAllCount += 1;
      this.latestRemoveAll = pending;
    } else {
      const record = this.latestByKey.get(change.key);
      if (record) {
        record.count += 1;
        record.change = pending;
      } else {
        this.latestByKey.set(change.key, { count: 1, change: pending });
      }
    }
    this.pending.push(pending);
    return pending;
  }

  /** @internal The server answered: it made the change (`applied`) or not (an error, or it skipped the message). */
  settle(pending: PendingChange<V>, applied: boolean): void {
    if (pending.settled) return;
    pending.settled = true;
    const change = pending.change;
    if (change.kind === 'removeAll') {
      if (--this.removeAllCount === 0) this.latestRemoveAll = null;
    } else {
      const record = this.latestByKey.get(change.key)!;
      if (--record.count === 0) this.latestByKey.delete(change.key);
    }
    while (this.pending.peek()?.settled) this.pending.shift();
    if (applied) this.apply(change);
    else if (change.kind === 'define' && change.key !== '') this.options.budget.release(change.value.bytes);
  }

  /** A change the server made on its own account (no message of the client to answer). */
  apply(change: Change<V>): void {
    switch (change.kind) {
      case 'define': {
        const old = this.confirmed.get(change.key);
        if (old) this.drop(change.key, old, change.replacedBecause);
        this.confirmed.set(change.key, change.value);
        return;
      }
      case 'remove': {
        const old = this.confirmed.get(change.key);
        if (old) this.drop(change.key, old, change.reason);
        return;
      }
      case 'removeAll':
        if (this.confirmed.size === 0) return;
        for (const [key, value] of this.confirmed) {
          if (key === '' && this.options.removeAllSparesUnnamed) continue;
          if (change.keep?.(value)) continue;
          this.drop(key, value, change.reason);
        }
        return;
    }
  }

  /** Counts a value the server may hold without a change the gateway expected (a portal opened by server-side code). */
  reserve(key: string, value: V): void {
    if (key !== '') this.options.budget.reserve(value.bytes);
  }

  release(key: string, value: V): void {
    if (key !== '') this.options.budget.release(value.bytes);
  }

  /** Keeps a value reserved with `reserve`, once the server has shown that it holds it. */
  adopt(key: string, value: V, replacedBecause: string): void {
    const old = this.confirmed.get(key);
    if (old === value) {
      this.release(key, value);
      return;
    }
    if (old) this.drop(key, old, replacedBecause);
    this.confirmed.set(key, value);
  }

  private drop(key: string, value: V, reason: string): void {
    this.confirmed.delete(key);
    if (key !== '') this.options.budget.release(value.bytes);
    this.options.onRemoved?.(value, reason);
  }

  /** The key's value after every pending change, in order. */
  private replay(key: string): V | null {
    let value = this.confirmed.get(key) ?? null;
    for (const pending of this.pending) {
      if (pending.settled) continue;
      const change = pending.change;
      if (change.kind === 'removeAll') {
        if (key === '' && this.options.removeAllSparesUnnamed) continue;
        if (value && !change.keep?.(value)) value = null;
      } else if (change.key === key) {
        value = change.kind === 'define' ? change.value : null;
      }
    }
    return value;
  }
}
