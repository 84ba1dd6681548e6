import { stripEscapes, TypedCommands } from '../../recorder/typed-commands.js';
import { asTerminalOutput, parseEvent, parseHeader, peekEvent, readLinesSync, recordedWithoutPty, type CastHeader } from './cast-lines.js';

/**
 * A recording cut into segments the player loads on demand (asciinema-player's
 * "segmented" format): the browser fetches a small index and the segment it needs, never
 * the whole file. Segment k > 0 starts with a snapshot of the terminal at its start time,
 * so seeking anywhere costs one segment, not a replay from the beginning.
 */
export interface ReplayScan {
  header: CastHeader;
  /** Seconds: the time of the last event. */
  duration: number;
  segments: ReplaySegment[];
  /** [seconds, label]: markers, commands typed (when input is recorded) and resizes. */
  markers: Array<[number, string]>;
  events: number;
  /** Byte offset where the complete lines end (a live file may have a partial line after). */
  end: number;
}

export interface ReplaySegment {
  /** Seconds: the time of the segment's first event (0 for the first segment). */
  start: number;
  /** Byte range [offset, end) of the segment's event lines. */
  offset: number;
  end: number;
}

export interface TerminalSnapshot {
  cols: number;
  rows: number;
  /** Escape sequences that redraw the terminal's screen, fed into a fresh terminal. */
  init: string;
}

export const SEGMENT_BYTES = 512 * 1024;
export const MAX_MARKERS = 2000;
const MAX_LABEL = 80;

export class ReplayFormatError extends Error {}

/**
 * First pass: reads only each line's time and code (full JSON only for the rare input,
 * resize and marker lines), so a 50 MB file is indexed in a fraction of a second.
 */
export function scanRecording(path: string, segmentBytes = SEGMENT_BYTES): ReplayScan {
  let header: CastHeader | null = null;
  const segments: ReplaySegment[] = [];
  const markers: Array<[number, string]> = [];
  let current: ReplaySegment | null = null;
  let lastTime = 0;
  let events = 0;
  let end = 0;
  const typed = new TypedCommands();
  /** Input without a pseudo-terminal is data (a file piped in), not commands typed. */
  let inputIsTyped = true;
  for (const line of readLinesSync(path)) {
    end = line.next;
    if (!header) {
      header = parseHeader(line.bytes);
      if (!header) throw new ReplayFormatError('not an asciicast v2 recording (bad header line)');
      inputIsTyped = !recordedWithoutPty(header);
      continue;
    }
    const peeked = peekEvent(line.bytes);
    if (!peeked) continue;
    const time = Math.max(peeked.time, lastTime);
    lastTime = time;
    events += 1;
    if (!current) {
      current = { start: 0, offset: line.offset, end: line.next };
      segments.push(current);
    } else if (current.end - current.offset >= segmentBytes && time > current.start) {
      current = { start: time, offset: line.offset, end: line.next };
      segments.push(current);
    } else {
      current.end = line.next;
    }
    if (peeked.code === 'o' || markers.length >= MAX_MARKERS) continue;
    const event = parseEvent(line.bytes);
    if (!event) continue;
    if (peeked.code === 'm') markers.push([time, label(typeof event[2] === 'string' && event[2] ? event[2] : 'marker')]);
    else if (peeked.code === 'r' && typeof event[2] === 'string') markers.push([time, `resize ${event[2]}`]);
    else if (peeked.code === 'i' && inputIsTyped && typeof event[2] === 'string') {
      for (const command of typed.feed(event[2])) markers.push([time, label(`$ ${command}`)]);
    }
  }
  if (!header) throw new ReplayFormatError('the recording is empty');
  if (segments.length === 0) segments.push({ start: 0, offset: end, end });
  return { header, duration: lastTime, segments, markers, events, end };
}

/**
 * Events of one segment in the player's format. Marker lines become empty output (the
 * index carries the markers), keeping the segment's first event at its start time. Output
 * recorded without a pseudo-terminal (`withoutPty`) gets the line ends a terminal showed.
 */
export function segmentEvents(
  lines: Iterable<{ bytes: Buffer }>,
  segment: ReplaySegment,
  isFirst: boolean,
  withoutPty = false,
): Array<[number, string, unknown]> {
  const events: Array<[number, string, unknown]> = [];
  let lastTime = segment.start;
  for (const line of lines) {
    // Exactly the lines the scan counted as events, with the same times, so segment bounds
    // and the duration agree with the index.
    const peeked = peekEvent(line.bytes);
    if (!peeked) continue;
    const time = Math.max(peeked.time, lastTime);
    lastTime = time;
    const event = parseEvent(line.bytes);
    const code = event?.[1];
    const data = event?.[2];
    if (code === 'o' && typeof data === 'string') events.push([time, code, withoutPty ? asTerminalOutput(data) : data]);
    else if (code === 'i' && typeof data === 'string') events.push([time, code, data]);
    else if (code === 'r' && typeof data === 'string' && /^\d+x\d+$/.test(data)) events.push([time, 'r', data]);
    else events.push([time, 'o', '']);
  }
  if (events.length === 0) events.push([segment.start, 'o', '']);
  if (!isFirst) events[0]![0] = segment.start;
  return events;
}

function label(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is removed
  const clean = stripEscapes(text).replace(/[\x00-\x1f\x7f]/g, ' ');
  return clean.length > MAX_LABEL ? `${clean.slice(0, MAX_LABEL - 1)}…` : clean;
}
