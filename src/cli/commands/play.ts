import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SessionShow } from '../../admin/session-operations.js';
import { errorMessage } from '../../core/errors.js';
import { parseAsciicast } from '../../recorder/asciicast.js';
import type { RecordingCheck } from '../../recorder/recording-check.js';
import { replay } from '../asciicast-replay.js';
import { CliError } from '../errors.js';
import { configFor, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { safeText } from '../safe-text.js';

export function registerPlay(program: Command): void {
  withConfigOption(program.command('play'))
    .description("replay a session's terminal recording in this terminal (checked against its digest first)")
    .argument('<id>', 'session id (ses_…)')
    .option('--speed <factor>', 'playback speed: 2 plays twice as fast', '1')
    .option('--channel <n>', "which channel's recording (default: the session's main one)")
    .option('--idle-limit <seconds>', 'shorten pauses longer than this; 0 keeps them', '2')
    .action(async (id: string, options: { speed: string; channel?: string; idleLimit: string }, command: Command) => {
      const speed = Number(options.speed);
      const idleLimit = Number(options.idleLimit);
      if (!(speed > 0)) throw new CliError('usage', `--speed must be a positive number, not "${options.speed}"`);
      if (!(idleLimit >= 0)) throw new CliError('usage', `--idle-limit must be zero or more seconds, not "${options.idleLimit}"`);
      const show = (await runCliOperation(configFor(command), 'sessions.show', { id })) as SessionShow;
      const check = chooseRecording(show, options.channel);
      const note = (text: string) => process.stderr.write(`custos: ${text}\n`);
      if (!check.matches) note(safeText`WARNING: ${check.problem ?? 'the recording does not match its digest'}`);
      let text: string;
      try {
        text = await readFile(check.path, 'utf8');
      } catch (err) {
        throw new CliError('failed', `cannot read the recording ${check.path}: ${errorMessage(err)}`);
      }
      const cast = parseAsciicast(text);
      const s = show.session;
      note(safeText`replaying ${s.id}: ${s.identityName} as ${s.login ?? s.database ?? '?'} on ${s.target}, ${String(s.startedAt)} (${cast.header.width}x${cast.header.height}, speed ${speed}x); Ctrl-C stops`);
      let stopped = false;
      const stop = () => (stopped = true);
      process.once('SIGINT', stop);
      try {
        await replay(cast, {
          speed,
          idleLimit,
          write: (data) => process.stdout.write(data),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          stopped: () => stopped,
        });
      } finally {
        process.off('SIGINT', stop);
      }
      const marker = cast.events.filter((event) => event[1] === 'm').at(-1);
      note(safeText`${stopped ? 'stopped' : 'end of recording'}${marker ? ` (${marker[2]})` : ''}`);
    });
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
  if (!main) throw new CliError('usage', `session ${show.session.id} has no terminal recording (its evidence is in sessions show)`);
  return main;
}
