import { silentLogger } from '../../src/core/logger.js';
import { QueryLog } from '../../src/recorder/query-log.js';
import { ClientCapture } from '../../src/proxy/postgres/client-capture.js';
import { BackendScanner } from '../../src/proxy/postgres/protocol/backend-scanner.js';
import { FrontendParser } from '../../src/proxy/postgres/protocol/frontend-parser.js';
import { StatementTracker, TRACKED_BODIES, type PreparedLimits } from '../../src/proxy/postgres/statement-tracker.js';

/** A query-log row as the store would receive it (the columns tests look at). */
export interface CapturedRow {
  seq: number;
  protocol: string;
  statement: string;
  params: Array<{ value: string | null }> | null;
  commandTag: string | null;
  rowCount: number | null;
  status: string;
  sqlstate: string | null;
  details: Record<string, unknown> | null;
}

/**
 * One session's capture without sockets: client bytes go through the same ClientCapture and
 * StatementTracker as in the gateway, server messages through the same BackendScanner, and the
 * rows come out of a real QueryLog whose store only keeps the insert payloads. `forwarded`
 * lists the client messages released upstream, in order — a held message is not in it yet.
 */
export class CaptureHarness {
  readonly tracker: StatementTracker;
  readonly forwarded: string[] = [];
  private readonly capture: ClientCapture;
  private readonly backend = new BackendScanner(TRACKED_BODIES);
  private readonly upstream = new FrontendParser({ maxMessageBytes: 1 << 30 });
  private readonly lines: Array<Array<string | null>> = [];
  private readonly log: QueryLog;

  constructor(limits: PreparedLimits = { maxObjects: 10_000, maxBytes: 32 * 1024 * 1024 }) {
    const store = {
      queries: {
        writeBatch: async (inserts: string | null) => void (inserts && this.lines.push(...parseCopyLines(inserts))),
      },
    };
    this.log = new QueryLog(store as unknown as ConstructorParameters<typeof QueryLog>[0], { unfinishedAfterMs: 3_600_000, maxDelayMs: 1 });
    const queries = this.log.openSession({ sessionId: 'ses_test', identityId: 'idt_a', identityName: 'alice', target: 'orders', database: 'orders', dbUser: 'app' });
    this.tracker = new StatementTracker(queries, silentLogger, limits);
    this.capture = new ClientCapture(new FrontendParser({ maxMessageBytes: 1 << 30 }), (message) => this.tracker.onClientMessage(message));
  }

  /** The client sends these messages, in one chunk. */
  client(...messages: Buffer[]): this {
    this.release(this.capture.take(Buffer.concat(messages)));
    return this;
  }

  /** The server answers with these messages, in one chunk. */
  server(...messages: Buffer[]): this {
    this.backend.scan(Buffer.concat(messages), (type, body, length) => this.tracker.onServerMessage(type, body, length));
    if (this.capture.holding) this.release(this.capture.retry());
    return this;
  }

  get holding(): boolean {
    return this.capture.holding;
  }

  /** The rows finished so far, in seq order. */
  async rows(): Promise<CapturedRow[]> {
    await this.log.flush();
    return this.lines
      .map((line) => ({
        seq: Number(line[6]),
        protocol: line[7]!,
        statement: line[8]!,
        params: json(line[9]!) as CapturedRow['params'],
        commandTag: line[12]!,
        rowCount: line[13] === null ? null : Number(line[13]),
        status: line[14]!,
        sqlstate: line[15]!,
        details: json(line[17]!) as Record<string, unknown> | null,
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  /** [statement, status, command tag, sqlstate] of each row. */
  async summary(): Promise<Array<[string, string, string | null, string | null]>> {
    return (await this.rows()).map((row) => [row.statement, row.status, row.commandTag, row.sqlstate]);
  }

  private release(chunks: Buffer[]): void {
    for (const chunk of chunks) this.upstream.parse(chunk, (message) => void this.forwarded.push(message.name));
  }
}

/** Rows in COPY text format (store/query-copy-lines.ts): columns as text, `\N` as null. */
function parseCopyLines(data: string): Array<Array<string | null>> {
  return data
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map((field) => (field === '\\N' ? null : field.replace(/\\(.)/g, (_, c: string) => COPY_UNESCAPES[c] ?? c))));
}

const COPY_UNESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', '\\': '\\' };

function json(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
