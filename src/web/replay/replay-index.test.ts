import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import xtermHeadless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/helpers/temp-dir.js';
import { readLinesSync } from './cast-lines.js';
import { scanRecording, segmentEvents, ReplayFormatError } from './replay-index.js';
import { computeSnapshots } from './snapshots.js';
import type { TerminalSnapshot } from './replay-index.js';

const temp = makeTempDir('crix-');
afterAll(() => temp.remove());

let counter = 0;
function cast(lines: unknown[], header: Record<string, unknown> = { version: 2, width: 40, height: 10 }): string {
  const path = join(temp.path, `r${counter++}.cast`);
  writeFileSync(path, [JSON.stringify(header), ...lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line)))].join('\n') + '\n');
  return path;
}

function eventsOf(path: string, segmentIndex: number, scan = scanRecording(path, 200), withoutPty = false) {
  const segment = scan.segments[segmentIndex]!;
  return segmentEvents(readLinesSync(path, segment.offset, segment.end), segment, segmentIndex === 0, withoutPty);
}

describe('scanRecording', () => {
  it('cuts segments by size at event boundaries, each starting at its first event time', () => {
    const events = Array.from({ length: 60 }, (_, i) => [i * 0.5, 'o', `line ${i} ${'x'.repeat(20)}\r\n`]);
    const path = cast(events);
    const scan = scanRecording(path, 200);
    expect(scan.events).toBe(60);
    expect(scan.duration).toBe(29.5);
    expect(scan.segments.length).toBeGreaterThan(5);
    expect(scan.segments[0]!.start).toBe(0);
    for (let i = 1; i < scan.segments.length; i++) {
      expect(scan.segments[i]!.start).toBeGreaterThan(scan.segments[i - 1]!.start);
      expect(scan.segments[i]!.offset).toBe(scan.segments[i - 1]!.end);
      expect(eventsOf(path, i, scan)[0]![0]).toBe(scan.segments[i]!.start);
    }
    const all = scan.segments.flatMap((_, i) => eventsOf(path, i, scan));
    expect(all).toEqual(events);
    expect(all.at(-1)![0]).toBe(scan.duration);
  });

  it('makes markers of marker events, resizes and typed command lines (with editing keys)', () => {
    const path = cast([
      [0.1, 'o', '$ '],
      [0.2, 'i', 'ls -l'],
      [0.3, 'i', 'x\x7f'],
      [0.4, 'i', '\r'],
      [0.5, 'i', '\x1b[Atop\x03'],
      [0.6, 'i', 'uptime\r'],
      [1, 'r', '100x40'],
      [2, 'm', 'checkpoint <b>'],
    ]);
    expect(scanRecording(path).markers).toEqual([
      [0.4, '$ ls -l'],
      [0.6, '$ uptime'],
      [1, 'resize 100x40'],
      [2, 'checkpoint <b>'],
    ]);
  });

  it('turns marker and unknown events into empty output, keeps times monotonic, skips junk lines', () => {
    const path = cast([[0.5, 'o', 'a'], [0.4, 'o', 'b'], 'not json at all', [1, 'm', 'mark'], [1.5, 'x', '0'], [2, 'r', 'bad']]);
    const events = eventsOf(path, 0);
    expect(events).toEqual([
      [0.5, 'o', 'a'],
      [0.5, 'o', 'b'],
      [1, 'o', ''],
      [1.5, 'o', ''],
      [2, 'o', ''],
    ]);
    expect(scanRecording(path).duration).toBe(2);
  });

  it('ignores a last line still being written', () => {
    const path = cast([[0.1, 'o', 'done']]);
    writeFileSync(path, `${JSON.stringify({ version: 2, width: 80, height: 24 })}\n[0.1,"o","done"]\n[0.2,"o","hal`);
    const scan = scanRecording(path);
    expect(scan.events).toBe(1);
    expect(scan.duration).toBe(0.1);
  });

  it('refuses what is not asciicast v2', () => {
    expect(() => scanRecording(cast([], { version: 3, term: { cols: 80, rows: 24 } }))).toThrow(ReplayFormatError);
    const empty = join(temp.path, 'empty.cast');
    writeFileSync(empty, '');
    expect(() => scanRecording(empty)).toThrow(/empty/);
  });

  it('keeps multi-byte UTF-8 intact across read chunks', () => {
    const text = 'żółć 日本語 🙂 '.repeat(40_000);
    const path = cast([[0.1, 'o', text]]);
    expect(eventsOf(path, 0, scanRecording(path))).toEqual([[0.1, 'o', text]]);
  });
});

describe('a channel recorded without a pseudo-terminal (custos.pty: false)', () => {
  const header = { version: 2, width: 40, height: 10, custos: { channelKind: 'exec', pty: false } };

  it('replays bare "\\n" line ends as new lines, and makes no command markers of piped input', async () => {
    const events = Array.from({ length: 30 }, (_, i) => [i * 0.1, 'o', `out ${i}\nerr ${i}\r\n`]);
    const path = cast([[0, 'i', 'data line 1\ndata line 2\n'], ...events, [3.5, 'm', 'exit status 0']], header);
    const scan = scanRecording(path, 200);
    expect(scan.markers).toEqual([[3.5, 'exit status 0']]);
    expect(scan.segments.length).toBeGreaterThan(2);
    const replayed = scan.segments.flatMap((_, i) => eventsOf(path, i, scan, true));
    expect(replayed.filter(([, code]) => code === 'o').map(([, , data]) => data).join('')).toBe(
      events.map(([, , data]) => String(data).replace(/\r?\n/g, '\r\n')).join(''),
    );
    const snapshots = new Map<number, TerminalSnapshot>();
    await computeSnapshots(path, scan, (segment, snapshot) => snapshots.set(segment, snapshot));
    const last = scan.segments.length - 1;
    const reference = await screen(40, 10, scan.segments.slice(0, last).flatMap((_, i) => eventsOf(path, i, scan, true)));
    // No staircase: every line starts in the first column.
    expect(reference.text.filter((line) => line.trim()).every((line) => /^(out|err) \d+$/.test(line))).toBe(true);
    expect((await screen(40, 10, [[0, 'o', snapshots.get(last)!.init]])).text).toEqual(reference.text);
  });

  it('leaves terminal output alone: a pty recording may move the cursor down with a bare "\\n"', () => {
    const path = cast([[0.1, 'o', 'a\nb']]);
    expect(eventsOf(path, 0, scanRecording(path))).toEqual([[0.1, 'o', 'a\nb']]);
  });
});

describe('computeSnapshots', () => {
  it('gives each segment a snapshot that reproduces the screen of a full replay', async () => {
    const events: unknown[] = [];
    for (let i = 0; i < 80; i++) {
      events.push([i * 0.25, 'o', `\x1b[3${i % 8}mrow ${i}\x1b[0m ${'-'.repeat(i % 30)}\r\n`]);
      if (i === 30) events.push([i * 0.25, 'r', '50x12']);
      if (i === 50) events.push([i * 0.25, 'o', '\x1b[?1049h\x1b[Hfull screen app\x1b[5;5Hhere']);
      if (i === 60) events.push([i * 0.25, 'o', '\x1b[?1049l']);
    }
    const path = cast(events);
    const scan = scanRecording(path, 300);
    expect(scan.segments.length).toBeGreaterThan(4);
    const snapshots = new Map<number, TerminalSnapshot>();
    await computeSnapshots(path, scan, (segment, snapshot) => snapshots.set(segment, snapshot));
    expect([...snapshots.keys()]).toEqual(scan.segments.slice(1).map((_, i) => i + 1));
    for (let k = 1; k < scan.segments.length; k++) {
      // Reference: everything before segment k, replayed from the start.
      const before = scan.segments.slice(0, k).flatMap((_, i) => eventsOf(path, i, scan));
      const reference = await screen(40, 10, before);
      const snapshot = snapshots.get(k)!;
      expect({ cols: snapshot.cols, rows: snapshot.rows }).toEqual({ cols: reference.cols, rows: reference.rows });
      expect((await screen(snapshot.cols, snapshot.rows, [[0, 'o', snapshot.init]])).text).toEqual(reference.text);
    }
  });
});

/** Visible text of a terminal fed these events (what a viewer would see). */
async function screen(cols: number, rows: number, events: Array<[number, string, unknown]>): Promise<{ cols: number; rows: number; text: string[] }> {
  const terminal = new xtermHeadless.Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
  terminal.loadAddon(new serializeAddon.SerializeAddon());
  for (const [, code, data] of events) {
    if (code === 'o') await new Promise<void>((resolve) => terminal.write(String(data), resolve));
    if (code === 'r') {
      const [c, r] = String(data).split('x').map(Number);
      terminal.resize(c!, r!);
    }
  }
  const buffer = terminal.buffer.active;
  const text = Array.from({ length: terminal.rows }, (_, i) => buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
  const out = { cols: terminal.cols, rows: terminal.rows, text };
  terminal.dispose();
  return out;
}
