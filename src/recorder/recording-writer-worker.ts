import { parentPort, workerData } from 'node:worker_threads';
import { BatchSlots } from './batch-slots.js';
import type { RecordingFileWriter } from './recording-batch.js';
import { createRecordingFile } from './recording-file.js';
import { finalizeRecordingFile } from './recording-finalize.js';
import type { FromWriter, ToWriter, WriterInit } from './recording-writer-protocol.js';
import type { ChannelExit } from './session-recorder.js';

/**
 * The recording writer thread: encodes recordings (asciicast for terminals, byte frames for
 * channels without one), writes, hashes and syncs them off the gateway's event loop. A
 * recording whose write fails is marked failed (the gateway ends its session) and, when
 * closed, digested as it is on disk.
 *
 * Each recording is synced every `syncIntervalMs` beside its writes. A sync still running
 * at the next tick means the disk is behind: the recording's writes are then acknowledged
 * only once that sync is done, so its producer pauses (backpressure) instead of piling up
 * more than a second of bytes that a crash could lose.
 */
const port = parentPort!;
const init = workerData as WriterInit;
const send = (message: FromWriter) => port.postMessage(message);
const slots = new BatchSlots(init.slots.buffer, init.slots.slotBytes);

interface Entry {
  path: string;
  file: RecordingFileWriter | null;
  failed: boolean;
  syncing: boolean;
  /** A sync outlived its interval: acknowledgements wait for it. */
  overdue: boolean;
  heldBytes: number;
}

const recordings = new Map<number, Entry>();

function describe(err: unknown, path: string): { code: string; message: string } {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return { code, message: `cannot write recording ${path}: ${code} (${(err as Error).message})` };
}

function fail(id: number, entry: Entry, err: unknown): void {
  entry.failed = true;
  entry.file?.closeQuietly();
  entry.file = null;
  send({ type: 'failed', id, error: describe(err, entry.path) });
  release(id, entry);
}

/** Acknowledges what waited for an overdue sync. */
function release(id: number, entry: Entry): void {
  entry.overdue = false;
  if (entry.heldBytes === 0) return;
  send({ type: 'appended', id, bytes: entry.heldBytes, slot: null });
  entry.heldBytes = 0;
}

port.on('message', (message: ToWriter) => {
  switch (message.type) {
    case 'open': {
      const entry: Entry = { path: message.path, file: null, failed: false, syncing: false, overdue: false, heldBytes: 0 };
      recordings.set(message.id, entry);
      try {
        entry.file = createRecordingFile(message.path, message);
        send({ type: 'opened', id: message.id });
      } catch (err) {
        entry.failed = true;
        send({ type: 'failed', id: message.id, error: describe(err, message.path) });
      }
      return;
    }
    case 'append': {
      const entry = recordings.get(message.id);
      if (entry?.file && !entry.failed) {
        try {
          const data = message.slot ? slots.view(message.slot.index, message.slot.length) : (message.data ?? new Uint8Array(0));
          entry.file.append({ data, events: message.events });
        } catch (err) {
          fail(message.id, entry, err);
        }
      }
      // Acknowledged even when dropped, so a producer waiting on backpressure is released
      // (its session is being ended because of the failure); held while a sync is overdue.
      // A slot is free again at once (its bytes are written).
      const hold = entry?.overdue === true && !entry.failed;
      if (hold) entry.heldBytes += message.bytes;
      send({ type: 'appended', id: message.id, bytes: hold ? 0 : message.bytes, slot: message.slot?.index ?? null });
      return;
    }
    case 'close': {
      const entry = recordings.get(message.id);
      recordings.delete(message.id);
      if (!entry) return send({ type: 'close-failed', id: message.id, error: { code: 'unknown', message: 'unknown recording' } });
      release(message.id, entry);
      void closeEntry(message.id, entry, message.exit, message.t);
      return;
    }
  }
});

async function closeEntry(id: number, entry: Entry, exit: ChannelExit | null, t: number): Promise<void> {
  if (entry.file && !entry.failed) {
    try {
      const { bytes, sha256 } = await entry.file.close(exit, t);
      return send({ type: 'closed', id, path: entry.path, bytes, sha256 });
    } catch (err) {
      entry.failed = true;
      entry.file.closeQuietly();
      send({ type: 'failed', id, error: describe(err, entry.path) });
    }
  }
  try {
    const digest = await finalizeRecordingFile(entry.path);
    send({ type: 'closed', id, ...digest });
  } catch (err) {
    send({ type: 'close-failed', id, error: describe(err, entry.path) });
  }
}

setInterval(() => {
  for (const [id, entry] of recordings) {
    if (!entry.file || entry.failed) continue;
    if (entry.syncing) {
      entry.overdue = true;
      continue;
    }
    entry.syncing = true;
    entry.file.syncInBackground().then(
      () => {
        entry.syncing = false;
        release(id, entry);
      },
      (err: unknown) => {
        entry.syncing = false;
        if (recordings.get(id) === entry && !entry.failed) fail(id, entry, err);
      },
    );
  }
}, init.syncIntervalMs);
