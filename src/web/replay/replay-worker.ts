import { parentPort, workerData } from 'node:worker_threads';
import { scanRecording } from './replay-index.js';
import type { ReplayWorkerMessage, ReplayWorkerRequest } from './replay-worker-protocol.js';
import { computeSnapshots } from './snapshots.js';

/** Worker thread: indexes one recording, then computes its segment snapshots. */
const port = parentPort!;
const request = workerData as ReplayWorkerRequest;
const send = (message: ReplayWorkerMessage) => port.postMessage(message);

try {
  const scan = scanRecording(request.path, request.segmentBytes);
  send({ type: 'scan', scan });
  await computeSnapshots(request.path, scan, (segment, snapshot) => send({ type: 'snapshot', segment, snapshot }));
  send({ type: 'done' });
} catch (err) {
  send({ type: 'error', message: (err as Error).message });
}
