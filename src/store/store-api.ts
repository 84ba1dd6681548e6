import type { ControlChannel } from '../core/control-notice.js';
import type { StoreKind } from './connect.js';
import type { Repositories } from './repositories/index.js';

export interface StoreHealth {
  ok: boolean;
  kind: StoreKind;
  latencyMs: number;
  error?: string;
}

/** The repositories plus lifecycle. Every method may throw StoreError and nothing else. */
export interface Store extends Repositories {
  readonly kind: StoreKind;
  /** The store URL with any password masked. */
  readonly location: string;
  health(): Promise<StoreHealth>;
  /** Control notices from every process sharing the store (session kills, permission changes). */
  readonly control: ControlChannel;
  close(): Promise<void>;
}

export async function measureHealth(kind: StoreKind, ping: () => Promise<void>): Promise<StoreHealth> {
  const started = performance.now();
  try {
    await ping();
    return { ok: true, kind, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    return { ok: false, kind, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}
