import xtermHeadless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';
import { parseEvent, peekEvent, readLinesSync, recordedWithoutPty } from './cast-lines.js';
import type { ReplayScan, TerminalSnapshot } from './replay-index.js';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = serializeAddon;

const FLUSH_CHARS = 1024 * 1024;

/**
 * Second pass: runs the recording through a headless terminal emulator and hands over a
 * snapshot of the screen at the start of every segment after the first. CPU-bound: run it
 * in a worker thread, never on the gateway's event loop.
 */
export async function computeSnapshots(
  path: string,
  scan: ReplayScan,
  onSnapshot: (segment: number, snapshot: TerminalSnapshot) => void,
): Promise<void> {
  let cols = clampSize(scan.header.width, 80);
  let rows = clampSize(scan.header.height, 24);
  // Without a pseudo-terminal a bare "\n" ended each line (see asTerminalOutput).
  const terminal = new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true, convertEol: recordedWithoutPty(scan.header) });
  const serializer = new SerializeAddon();
  terminal.loadAddon(serializer);
  let pending = '';
  const flush = async () => {
    if (!pending) return;
    const data = pending;
    pending = '';
    await new Promise<void>((resolve) => terminal.write(data, resolve));
  };
  const boundaries = scan.segments.slice(1).map((segment) => segment.offset);
  let next = 0;
  const start = scan.segments[0]!.offset;
  for (const line of readLinesSync(path, start, scan.end)) {
    while (next < boundaries.length && line.offset >= boundaries[next]!) {
      await flush();
      onSnapshot(next + 1, { cols, rows, init: serializer.serialize() });
      next += 1;
    }
    if (next >= boundaries.length) break;
    const peeked = peekEvent(line.bytes);
    if (!peeked) continue;
    if (peeked.code !== 'o' && peeked.code !== 'r') continue;
    const event = parseEvent(line.bytes);
    if (!event || typeof event[2] !== 'string') continue;
    if (event[1] === 'o') {
      pending += event[2];
      if (pending.length >= FLUSH_CHARS) await flush();
    } else {
      const size = /^(\d+)x(\d+)$/.exec(event[2]);
      if (!size) continue;
      await flush();
      cols = clampSize(Number(size[1]), cols);
      rows = clampSize(Number(size[2]), rows);
      terminal.resize(cols, rows);
    }
  }
  while (next < boundaries.length) {
    await flush();
    onSnapshot(next + 1, { cols, rows, init: serializer.serialize() });
    next += 1;
  }
  terminal.dispose();
}

function clampSize(value: number, fallback: number): number {
  return Number.isInteger(value) && value > 0 && value <= 1000 ? value : fallback;
}
