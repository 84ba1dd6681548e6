import { open, type FileHandle } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import type { ChainedAuditEvent } from '../core/audit-chain.js';
import { auditRecord } from './audit-record.js';
import { RecorderError } from './errors.js';

/** Where the audit stream delivers events; `write` resolves once the events are handed over. */
export interface AuditSink {
  /** For logs and the cursor file: the configured `audit.stream` value. */
  readonly name: string;
  write(events: ChainedAuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

export function auditSinkFor(target: string, node: string): AuditSink {
  const syslog = /^syslog:\/\/([^\s/:]+):(\d{1,5})$/.exec(target);
  if (syslog) return new SyslogSink(target, syslog[1]!, Number(syslog[2]), node);
  if (target.includes('://')) throw new RecorderError('invalid_stream', `audit.stream: "${target}" is neither a file path nor syslog://HOST:PORT`);
  return new FileSink(target);
}

/** JSON lines (the `custos.audit/1` records), appended and fsynced per batch. */
class FileSink implements AuditSink {
  private handle: FileHandle | null = null;

  constructor(readonly name: string) {}

  async write(events: ChainedAuditEvent[]): Promise<void> {
    this.handle ??= await open(this.name, 'a', 0o600);
    try {
      await this.handle.appendFile(events.map((event) => `${JSON.stringify(auditRecord(event))}\n`).join(''));
      await this.handle.datasync();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Syslog over TCP (RFC 5424 messages, octet-counting framing of RFC 6587): facility authpriv,
 * severity info (warning for failed attempts), MSGID the event type, the message the JSON
 * record. TCP has no application acknowledgement: an event counts as delivered once the
 * kernel took it.
 */
class SyslogSink implements AuditSink {
  private socket: Socket | null = null;

  constructor(
    readonly name: string,
    private readonly host: string,
    private readonly port: number,
    private readonly node: string,
  ) {}

  async write(events: ChainedAuditEvent[]): Promise<void> {
    const socket = this.socket ?? (await this.connect());
    const frames = Buffer.concat(events.map((event) => syslogFrame(event, this.node)));
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) => reject(err);
      socket.once('error', failed);
      socket.once('close', () => reject(new Error('the syslog receiver closed the connection')));
      socket.write(frames, (err) => {
        socket.off('error', failed);
        if (err) reject(err);
        else resolve();
      });
    }).catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
    socket.removeAllListeners('close');
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        this.socket = socket;
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }
}

export function syslogFrame(event: ChainedAuditEvent, node: string): Buffer {
  const record = auditRecord(event);
  const severity = record.ocsf.status_id === 2 ? 4 : 6;
  const pri = 10 * 8 + severity;
  const msgid = event.type.replace(/[^\x21-\x7e]/g, '_').slice(0, 32) || '-';
  const host = node.replace(/[^\x21-\x7e]/g, '_').slice(0, 255) || '-';
  const message = Buffer.from(`<${pri}>1 ${event.time} ${host} custos ${process.pid} ${msgid} - ${JSON.stringify(record)}`, 'utf8');
  return Buffer.concat([Buffer.from(`${message.length} `), message]);
}
