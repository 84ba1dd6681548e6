import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SessionShow } from '../../admin/session-operations.js';
import { errorMessage } from '../../core/errors.js';
import { parseAsciicast } from '../../recorder/asciicast.js';
import { BYTE_STREAMS, type ByteStream } from '../../recorder/byte-recording.js';
import { summarizeByteRecording } from '../../recorder/byte-recording-summary.js';
import type { RecordingCheck } from '../../recorder/recording-check.js';
import { describeExit } from '../../recorder/session-recorder.js';
import { replay, type ReplayOptions } from '../asciicast-replay.js';
import { outputEvents, writeStream } from '../byte-replay.js';
import { CliError } from '../errors.js';
import { configFor, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { safeText } from '../safe-text.js';

export function registerPlay(program: Command): void {
  withConfigOption(program.command('play'))
    .description(
      "replay a session's recording in this terminal (checked against its digest first): a terminal with its timing, a channel without one as its text when it is printable",
    )
    .argument('<id>', 'session id (ses_…)')
    .option('--speed <factor>', 'playback speed: 2 plays twice as fast', '1')
    .option('--channel <n>', "which channel's recording (default: the session's main one)")
    .option('--idle-limit <seconds>', 'shorten pauses longer than this; 0 keeps them', '2')
    .option('--raw [stream]', "a channel without a terminal: write one stream's recorded bytes exactly to stdout (stdout, the default; stderr; stdin)")
    .action(async (id: string, options: { speed: string; channel?: string; idleLimit: string; raw?: string | true }, command: Command) => {
      const speed = Number(options.speed);
      const idleLimit = Number(options.idleLimit);
      if (!(speed > 0)) throw new CliError('usage', `--speed must be a positive number, not "${options.speed}"`);
      if (!(idleLimit >= 0)) throw new CliError('usage', `--idle-limit must be zero or more seconds, not "${options.idleLimit}"`);
      const raw = options.raw === undefined ? null : options.raw === true ? 'stdout' : options.raw;
      if (raw !== null && !(BYTE_STREAMS as readonly string[]).includes(raw)) throw new CliError('usage', `--raw takes stdout, stderr or stdin, not "${raw}"`);
      const show = (await runCliOperation(configFor(command), 'sessions.show', { id })) as SessionShow;
      const check = chooseRecording(show, options.channel);
      const note = (text: string) => process.stderr.write(`custos: ${text}\n`);
      if (!check.matches) note(safeText`WARNING: ${check.problem ?? 'the recording does not match its digest'}`);
      const channel = options.channel ?? String(show.channelRecordings.find((recording) => recording.path === check.path)?.channelId ?? 'main');
      const timing = { speed, idleLimit, note };
      if (check.format === 'bytes') return playBytes(show, check.path, channel, raw as ByteStream | null, timing);
      if (raw !== null) {
        throw new CliError('usage', `channel ${channel} had a terminal: its recording is asciicast, replayed without --raw (its bytes as the terminal showed them)`);
      }
      let text: string;
      try {
        text = await readFile(check.path, 'utf8');
      } catch (err) {
        throw new CliError('failed', `cannot read the recording ${check.path}: ${errorMessage(err)}`);
      }
      const cast = parseAsciicast(text);
      const s = show.session;
      note(safeText`replaying ${s.id}: ${s.identityName} as ${s.login ?? s.database ?? '?'} on ${s.target}, ${String(s.startedAt)} (${cast.header.width}x${cast.header.height}, speed ${speed}x); Ctrl-C stops`);
      const stopped = await replayInTerminal(cast, timing);
      const marker = cast.events.filter((event) => event[1] === 'm').at(-1);
      note(safeText`${stopped ? 'stopped' : 'end of recording'}${marker ? ` (${marker[2]})` : ''}`);
    });
}

interface Timing {
  speed: number;
  idleLimit: number;
  note(text: string): void;
}

/** Replays output events to stdout until they end or Ctrl-C; true if stopped. */
async function replayInTerminal(cast: Parameters<typeof replay>[0], timing: Timing): Promise<boolean> {
  let stopped = false;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  const options: ReplayOptions = {
    speed: timing.speed,
    idleLimit: timing.idleLimit,
    write: (data) => process.stdout.write(data),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    stopped: () => stopped,
  };
  try {
    await replay(cast, options);
  } finally {
    process.off('SIGINT', stop);
  }
  return stopped;
}

/**
 * A channel without a terminal: its output replayed as text when every byte of it is
 * printable text; otherwise what it holds, and `--raw` writes a stream's bytes exactly.
 */
async function playBytes(show: SessionShow, path: string, channel: string, raw: ByteStream | null, timing: Timing): Promise<void> {
  const { note } = timing;
  if (raw !== null) {
    const written = await writeStream(path, raw, process.stdout);
    note(`wrote the ${written} bytes of ${raw} of channel ${channel}`);
    return;
  }
  let summary;
  try {
    summary = await summarizeByteRecording(path);
  } catch (err) {
    throw new CliError('failed', `cannot read the recording ${path}: ${errorMessage(err)}`);
  }
  const { stdout, stderr } = summary.streams;
  const exit = summary.exit ? ` (${describeExit(summary.exit)})` : '';
  const s = show.session;
  if (!stdout.printable || !stderr.printable) {
    const binary = (['stdout', 'stderr', 'stdin'] as const).filter((name) => !summary.streams[name].printable);
    const sizes = binary.map((name) => `${name} ${summary.streams[name].bytes} bytes, sha256 ${summary.streams[name].sha256}`).join('; ');
    note(safeText`channel ${channel} of ${s.id} is binary, ${stdout.bytes + stderr.bytes} bytes of output (${sizes})${exit}`);
    note(`custos play ${s.id} --channel ${channel} --raw [stdout|stderr|stdin] > FILE writes a stream's bytes exactly`);
    return;
  }
  note(safeText`replaying channel ${channel} of ${s.id}: ${s.identityName} as ${s.login ?? '?'} on ${s.target}, no terminal, ${stdout.bytes + stderr.bytes} bytes of text (speed ${timing.speed}x); Ctrl-C stops`);
  const stopped = await replayInTerminal({ events: outputEvents(path) }, timing);
  note(safeText`${stopped ? 'stopped' : 'end of recording'}${exit}`);
}

function chooseRecording(show: SessionShow, channel: string | undefined): RecordingCheck {
  if (channel !== undefined) {
    const found = show.channelRecordings.find((check) => String(check.channelId) === channel);
    if (!found) {
      const available = show.channelRecordings.map((check) => check.channelId).join(', ') || 'none';
      throw new CliError('usage', `session ${show.session.id} has no recording for channel ${channel} (recorded channels: ${available})`);
    }
    return found;
  }
  const main = show.recording ?? show.channelRecordings[0];
  if (!main) throw new CliError('usage', `session ${show.session.id} has no recording (its evidence is in sessions show)`);
  return main;
}
