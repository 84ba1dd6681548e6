import type { ReplayScan, TerminalSnapshot } from './replay-index.js';

export interface ReplayWorkerRequest {
  path: string;
  segmentBytes: number;
}

export type ReplayWorkerMessage =
  | { type: 'scan'; scan: ReplayScan }
  | { type: 'snapshot'; segment: number; snapshot: TerminalSnapshot }
  | { type: 'done' }
  | { type: 'error'; message: string };
