import type { Command } from 'commander';
import type { SessionShow } from '../../admin/session-operations.js';
import type { ByteRecordingSummary } from '../../recorder/byte-recording-summary.js';
import { describeExit } from '../../recorder/session-recorder.js';
import type { RecordingCheck } from '../../recorder/recording-check.js';
import type { SessionRow } from '../../store/repositories/sessions.js';
import { CliError } from '../errors.js';
import { configFor, print, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { escapeControls } from '../safe-text.js';
import { formatTable, shortTime } from '../table.js';

/** Rows as they arrive from an operation: dates are ISO strings. */
type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description('recorded sessions of every protocol (SSH, PostgreSQL, Kubernetes)');

  withConfigOption(sessions.command('ls'))
    .description('list sessions, newest first')
    .option('--identity <name>', 'sessions of this identity')
    .option('--target <name>', 'sessions on this target')
    .option('--since <when>', 'sessions still running at or ended after this: a duration back from now (24h) or a timestamp')
    .option('--until <when>', 'sessions started at or before this: a duration back from now or a timestamp')
    .option('--state <state>', 'live | closed | interrupted')
    .option('--protocol <protocol>', 'ssh | postgres | kubernetes')
    .option('--ticket <ticket>', 'sessions under this approval ticket')
    .option('--limit <n>', 'at most this many', '100')
    .option('--format <format>', 'table | json', 'table')
    .action(async (options: Record<string, string | undefined>, command: Command) => {
      if (options.format !== 'table' && options.format !== 'json') throw new CliError('usage', `unknown format "${options.format}" (table, json)`);
      const rows = (await runCliOperation(configFor(command), 'sessions.list', {
        identity: options.identity,
        target: options.target,
        since: options.since,
        until: options.until,
        state: options.state,
        protocol: options.protocol,
        ticket: options.ticket,
        limit: Number(options.limit),
      })) as Array<Wire<SessionRow>>;
      if (options.format === 'json') return print(rows.map((row) => JSON.stringify(row)).join('\n'));
      if (options.state === 'live') return print(liveTable(rows));
      print(
        formatTable(
          ['ID', 'STARTED', 'DURATION', 'STATE', 'PROTOCOL', 'IDENTITY', 'TARGET', 'AS', 'CLIENT', 'TICKET'],
          rows.map((row) => [
            row.id,
            shortTime(row.startedAt),
            duration(row.startedAt, row.endedAt),
            row.state,
            row.protocol,
            row.identityKind === 'bot' ? `${row.identityName} (bot of ${row.identityOwner ?? '?'})` : row.identityName,
            row.target,
            row.login ?? row.database,
            row.clientAddr,
            row.ticket,
          ]),
        ),
      );
    });

  withConfigOption(sessions.command('kill'))
    .description('end a live session, whichever gateway holds it; the client is told who ended it and why')
    .argument('<id>', 'session id (ses_…)')
    .option('--reason <text>', 'why (shown to the client, kept in the audit log)', 'no reason given')
    .action(async (id: string, options: { reason: string }, command: Command) => {
      const outcome = (await runCliOperation(configFor(command), 'sessions.kill', { id, reason: options.reason })) as {
        node: string;
        seq: number;
        ended: boolean;
        endReason: string | null;
      };
      if (outcome.ended) return print(`session ${id} ended: ${outcome.endReason ?? 'ended'} (session.terminate event #${outcome.seq})`);
      print(`termination of session ${id} requested (session.terminate event #${outcome.seq}), but gateway node ${outcome.node} has not ended it yet`);
      process.exitCode = 1;
    });

  withConfigOption(sessions.command('show'))
    .description('one session: its evidence tags, recordings (checked against their digests), channels, file operations and port forwards')
    .argument('<id>', 'session id (ses_…)')
    .option('--format <format>', 'text | json', 'text')
    .action(async (id: string, options: { format: string }, command: Command) => {
      const show = (await runCliOperation(configFor(command), 'sessions.show', { id })) as Wire<SessionShow>;
      if (options.format === 'json') return print(JSON.stringify(show, null, 2));
      if (options.format !== 'text') throw new CliError('usage', `unknown format "${options.format}" (text, json)`);
      print(describeSession(show as unknown as SessionShowWire));
      if ([show.recording, ...show.channelRecordings].some((check) => check && check.expected && !check.matches)) process.exitCode = 1;
    });
}

/** Live sessions: where they run, since when, and what passed so far. */
function liveTable(rows: Array<Wire<SessionRow>>): string {
  return formatTable(
    ['ID', 'STARTED', 'NODE', 'LAST ACTIVITY', 'PROTOCOL', 'IDENTITY', 'TARGET', 'AS', 'BYTES OUT/IN', 'STATEMENTS'],
    rows.map((row) => {
      const stats = (row.stats ?? {}) as { bytesToClient?: number; bytesFromClient?: number; statements?: number };
      return [
        row.id,
        shortTime(row.startedAt),
        row.node,
        shortTime(row.lastActivityAt ?? row.startedAt),
        row.protocol,
        row.identityName,
        row.target,
        row.login ?? row.database,
        `${stats.bytesToClient ?? 0}/${stats.bytesFromClient ?? 0}`,
        row.protocol === 'postgres' ? String(stats.statements ?? 0) : null,
      ];
    }),
  );
}

interface SessionShowWire {
  session: Wire<SessionRow>;
  channels: Array<Record<string, unknown>>;
  fileOperations: Array<Record<string, unknown>>;
  portForwards: Array<Record<string, unknown>>;
  recording: RecordingCheck | null;
  channelRecordings: Array<{ channelId: number; content: ByteRecordingSummary | null } & RecordingCheck>;
  endEvent: { seq: number; type: string; sha256: string | null; agreesWithRow: boolean } | null;
}

function describeSession(show: SessionShowWire): string {
  const { session } = show;
  const field = (name: string, value: unknown) => `${name.padEnd(12)}${value === null || value === undefined || value === '' ? '-' : escapeControls(value)}`;
  const lines = [
    field('session', session.id),
    field('state', `${session.state}${session.endReason ? ` (${session.endReason})` : ''}`),
    field('protocol', session.protocol),
    field('identity', `${session.identityName} (${session.identityKind}${session.identityOwner ? `, owner ${session.identityOwner}` : ''})`),
    field('credential', session.credentialId),
    field('target', `${session.target} (${session.targetAddress})`),
    field(
      session.protocol === 'postgres' ? 'database' : session.protocol === 'kubernetes' ? 'kube user' : 'login',
      session.protocol === 'postgres' ? `${session.login ?? '-'} on ${session.database ?? '-'}` : session.login,
    ),
    field('client', session.clientAddr),
    field('node', session.node),
    field('request', session.requestId),
    field('grant', session.grantId),
    field('ticket', session.ticket),
    field('started', shortTime(session.startedAt)),
    field('ended', shortTime(session.endedAt)),
    field('expires', shortTime(session.expiresAt)),
    field('recording', session.recordingPath ? `${session.recordingPath} (${session.recordingBytes ?? '?'} bytes)` : null),
  ];
  if (session.recordingSha256) lines.push(field('sha256', session.recordingSha256));
  if (show.recording) lines.push(field('file', checkText(show.recording)));
  if (show.endEvent) {
    lines.push(
      field(
        'audit',
        `${show.endEvent.type} event #${show.endEvent.seq} ${show.endEvent.agreesWithRow ? 'carries the same digest' : `carries ${show.endEvent.sha256 ?? 'no digest'}: DIFFERENT from the row`}`,
      ),
    );
  }
  if (Object.keys(session.details ?? {}).length) lines.push(field('details', JSON.stringify(session.details)));
  if (Object.keys(session.stats ?? {}).length) lines.push(field('stats', JSON.stringify(session.stats)));

  if (show.channels.length) {
    const checks = new Map(show.channelRecordings.map((check) => [check.channelId, check]));
    lines.push(
      '',
      'CHANNELS',
      formatTable(
        ['ID', 'KIND', 'COMMAND', 'PTY', 'STARTED', 'ENDED', 'EXIT', 'RECORDING', 'BYTES', 'DIGEST'],
        show.channels.map((channel) => {
          const pty = channel.pty as { term: string; cols: number; rows: number } | null;
          const check = checks.get(channel.channelId as number);
          return [
            channel.channelId as number,
            channel.kind as string,
            truncate(channel.command as string | null, 40),
            pty ? `${pty.term} ${pty.cols}x${pty.rows}` : null,
            shortTime(channel.startedAt as string),
            shortTime(channel.endedAt as string | null),
            channel.exitSignal ? `signal ${String(channel.exitSignal)}` : (channel.exitCode as number | null),
            channel.recordingPath as string | null,
            channel.recordingBytes as number | null,
            check ? (check.matches ? 'ok' : check.problem) : null,
          ];
        }),
      ).trimEnd(),
    );
    const incomplete = (session.stats?.fileLogIncomplete ?? {}) as Record<string, string>;
    for (const channel of show.channels) {
      const id = channel.channelId as number;
      const content = checks.get(id)?.content;
      if (content) lines.push(field(`channel ${id}`, describeContent(content)));
      if (incomplete[id]) lines.push(field(`channel ${id}`, `FILE LOG INCOMPLETE: ${incomplete[id]} (file operations may be missing; the bytes are in the recording)`));
    }
  }
  if (show.fileOperations.length) {
    lines.push(
      '',
      'FILE OPERATIONS',
      formatTable(
        ['TIME', 'CHANNEL', 'OPERATION', 'PATH', 'TO', 'BYTES', 'RESULT'],
        show.fileOperations.map((op) => [
          shortTime(op.time as string),
          op.channelId as number | null,
          op.operation as string,
          op.path as string,
          op.targetPath as string | null,
          op.bytes as number | null,
          op.result === 'ok' ? 'ok' : `error: ${String(op.error)}`,
        ]),
      ).trimEnd(),
    );
  }
  if (show.portForwards.length) {
    lines.push(
      '',
      'PORT FORWARDS',
      formatTable(
        ['OPENED', 'CLOSED', 'DESTINATION', 'ORIGIN', 'ALLOWED', 'BYTES IN', 'BYTES OUT', 'REASON'],
        show.portForwards.map((forward) => [
          shortTime(forward.openedAt as string),
          shortTime(forward.closedAt as string | null),
          `${String(forward.destHost)}:${String(forward.destPort)}`,
          forward.originAddr as string | null,
          forward.allowed ? 'yes' : 'no',
          forward.bytesIn as number,
          forward.bytesOut as number,
          forward.reason as string | null,
        ]),
      ).trimEnd(),
    );
  }
  return lines.join('\n');
}

/** What a byte recording holds: `stdout 3145728 bytes binary, stderr 0 bytes, stdin not recorded; exit status 0`. */
function describeContent(content: ByteRecordingSummary): string {
  const stream = (name: 'stdout' | 'stderr' | 'stdin') => {
    if (name === 'stdin' && !content.header.custos.recordInput) return 'stdin not recorded';
    const { bytes, printable } = content.streams[name];
    return `${name} ${bytes} bytes${bytes === 0 ? '' : printable ? ' text' : ' binary'}`;
  };
  const exit = content.exit ? describeExit(content.exit) : 'no exit status';
  return `byte recording: ${stream('stdout')}, ${stream('stderr')}, ${stream('stdin')}; ${exit}${content.trailing ? `; ${content.trailing} bytes after the last complete frame` : ''}`;
}

function checkText(check: RecordingCheck): string {
  if (!check.present) return `MISSING: ${check.problem}`;
  if (!check.expected) return `present (${check.bytes} bytes), ${check.problem}`;
  return check.matches ? 'matches its digest' : `DOES NOT MATCH its digest: the file now has ${check.bytes} bytes, sha256 ${check.sha256}`;
}

function duration(start: string, end: string | null): string {
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const text = h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
  return end ? text : `${text}+`;
}

function truncate(text: string | null, length: number): string | null {
  if (!text) return text;
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
