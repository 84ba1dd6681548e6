import type { ControlNotice } from '../core/control-notice.js';
import type { ConnectOptions } from './connect.js';

/** Messages between the gateway thread and the embedded store's worker thread. */
export type ToWorker =
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'ping'; id: number }
  | { type: 'subscribe'; id: number }
  | { type: 'unsubscribe'; id: number }
  | { type: 'close'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'notice'; notice: ControlNotice };

export interface SerializedError {
  code: string;
  message: string;
}

export interface WorkerInit {
  url: string;
  options: ConnectOptions;
}
