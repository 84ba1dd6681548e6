import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventHash } from '../../src/core/audit-chain.js';
import { eventOfRecord, type AuditRecord } from '../../src/recorder/audit-record.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `audit.stream`: every audit event the gateway writes reaches a file or a syslog receiver
 * as a `custos.audit/1` record, in seq order, once, across restarts, and a sink that is down
 * neither blocks nor loses chain writes.
 */
const temp = makeTempDir('cstream-');
afterAll(() => temp.remove());

const parseLines = (text: string): AuditRecord[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);

async function cliOk(g: TestGateway, args: string[], input?: string): Promise<string> {
  const result = await g.cli(args, input === undefined ? {} : { input });
  expect(result.code, `custos ${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
  return result.stdout;
}

/** A resource apply and a token: the events an operator's everyday work writes. */
async function everydayWork(g: TestGateway, name: string): Promise<void> {
  const file = join(temp.path, `${name}.yaml`);
  writeFileSync(file, `kind: identity\nname: ${name}\nspec:\n  kind: human\n  roles: []\n`);
  await cliOk(g, ['apply', '-f', file]);
  await cliOk(g, ['token', 'create', name, '--ttl', '1h', '--reason', 'stream test']);
}

const headSeq = async (g: TestGateway) => (await g.gateway.store.audit.head())!.seq;

function expectConsecutive(records: AuditRecord[]): void {
  const seqs = records.map((record) => record.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  for (let i = 1; i < records.length; i++) expect(records[i]!.prev_hash).toBe(records[i - 1]!.hash);
}

describe('audit.stream to a file', () => {
  const stream = join(temp.path, 'audit-stream.jsonl');
  let g: TestGateway;
  let second: TestGateway | null = null;
  beforeAll(async () => {
    g = await startTestGateway({ settings: { audit: { stream } } });
  }, 120_000);
  afterAll(async () => {
    await second?.stop();
    await g.gateway.stop();
    g.remove();
  });

  it('writes every event as the custos.audit/1 record audit ls prints, in seq order, once', async () => {
    await everydayWork(g, 'streamed');
    const head = await headSeq(g);
    const records = await waitFor(() => existsSync(stream) && parseLines(readFileSync(stream, 'utf8')).at(-1)?.seq === head && parseLines(readFileSync(stream, 'utf8')), {
      what: 'the stream to reach the head',
    });
    // A first start streams from its own gateway.start on.
    expect(records[0]).toMatchObject({ type: 'gateway.start', actor: 'gateway:test-node' });
    expectConsecutive(records);
    expect(records.map((record) => record.type)).toEqual(expect.arrayContaining(['resource.create', 'token.create']));

    const listed = (await cliOk(g, ['audit', 'ls', '--format', 'jsonl'])).split('\n').filter(Boolean);
    const streamedLines = readFileSync(stream, 'utf8').split('\n').filter(Boolean);
    const listedBySeq = new Map(listed.map((line) => [(JSON.parse(line) as AuditRecord).seq, line]));
    for (const line of streamedLines) expect(line).toBe(listedBySeq.get((JSON.parse(line) as AuditRecord).seq));
  });

  it('has the documented fields, OCSF classes, and a hash anyone can recompute from the record', async () => {
    const records = parseLines(readFileSync(stream, 'utf8'));
    for (const record of records) {
      expect(Object.keys(record)).toEqual(['schema', 'seq', 'time', 'type', 'actor', 'identity', 'session_id', 'target', 'data', 'prev_hash', 'hash', 'ocsf']);
      expect(record.schema).toBe('custos.audit/1');
      expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$/);
      expect(Object.keys(record.ocsf)).toEqual(['class_uid', 'class_name', 'category_uid', 'category_name', 'activity_id', 'activity_name', 'type_uid', 'status_id']);
      expect(record.ocsf.type_uid).toBe(record.ocsf.class_uid * 100 + record.ocsf.activity_id);
      const event = eventOfRecord(record)!;
      expect(event).not.toBeNull();
      expect(auditEventHash(event.seq, event.prevHash, event)).toBe(record.hash);
    }
    const created = records.find((record) => record.type === 'resource.create')!;
    expect(created).toMatchObject({ actor: expect.stringMatching(/^os:/), target: null, ocsf: { class_uid: 3004, class_name: 'Entity Management', activity_name: 'Create' } });
    const token = records.find((record) => record.type === 'token.create')!;
    expect(token).toMatchObject({ identity: 'streamed', ocsf: { class_uid: 3001, class_name: 'Account Change', status_id: 1 } });
    expect(JSON.stringify(token)).not.toMatch(/cst_[A-Za-z0-9]/);
    // A changed byte in a record no longer hashes to its hash.
    const forged = eventOfRecord({ ...token, data: { ...token.data, reason: 'forged' } })!;
    expect(auditEventHash(forged.seq, forged.prevHash, forged)).not.toBe(token.hash);
  });

  it('continues from its cursor after a restart: no event twice, none missing', async () => {
    const before = parseLines(readFileSync(stream, 'utf8')).length;
    await g.gateway.stop();
    // A graceful stop delivers what it wrote, gateway.stop included.
    const stopped = parseLines(readFileSync(stream, 'utf8'));
    expect(stopped.at(-1)).toMatchObject({ type: 'gateway.stop' });
    expect(stopped.length).toBeGreaterThan(before);

    // The same data dir (store and cursor) and stream.
    second = await startTestGateway({ dataDir: g.dataDir, settings: { audit: { stream } } });
    await everydayWork(second, 'restarted');
    const head = await headSeq(second);
    const records = await waitFor(() => parseLines(readFileSync(stream, 'utf8')).at(-1)?.seq === head && parseLines(readFileSync(stream, 'utf8')), {
      what: 'the stream to reach the head after the restart',
    });
    expectConsecutive(records);
    expect(records[stopped.length]).toMatchObject({ seq: stopped.at(-1)!.seq + 1, type: 'gateway.start' });
    expect(records.filter((record) => record.type === 'token.create').map((record) => record.identity)).toEqual(['streamed', 'restarted']);
  });
});

describe('audit.stream to a file that cannot be written', () => {
  const dir = join(temp.path, 'not-yet');
  const stream = join(dir, 'audit.jsonl');
  let g: TestGateway;
  beforeAll(async () => {
    g = await startTestGateway({ settings: { audit: { stream } } });
  }, 120_000);
  afterAll(async () => {
    await g?.stop();
  });

  it('lets the gateway write and verify its chain, and delivers everything once the file can be written', async () => {
    await everydayWork(g, 'unwritten');
    expect(await cliOk(g, ['verify', '--chain-only'])).toMatch(/^audit chain intact: /m);
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir);
    const head = await headSeq(g);
    const records = await waitFor(() => existsSync(stream) && parseLines(readFileSync(stream, 'utf8')).at(-1)?.seq === head && parseLines(readFileSync(stream, 'utf8')), {
      timeoutMs: 60_000,
      what: 'the stream to catch up',
    });
    expect(records[0]).toMatchObject({ type: 'gateway.start' });
    expectConsecutive(records);
    expect(records.map((record) => record.type)).toEqual(expect.arrayContaining(['resource.create', 'token.create']));
  });
});

/** A syslog receiver over TCP with octet-counting framing (RFC 6587): `LEN SP MSG`. */
class SyslogReceiver {
  readonly messages: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {}

  listen(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (true) {
          const space = pending.indexOf(0x20);
          if (space < 0) break;
          const length = Number(pending.subarray(0, space).toString());
          if (pending.length < space + 1 + length) break;
          this.messages.push(pending.subarray(space + 1, space + 1 + length).toString('utf8'));
          pending = pending.subarray(space + 1 + length);
        }
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`; MSG is the record. */
  parsed(): Array<{ pri: number; time: string; host: string; app: string; msgid: string; record: AuditRecord }> {
    return this.messages.map((message) => {
      const match = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\d+) (\S+) - (\{.*\})$/s.exec(message);
      if (!match) throw new Error(`not an RFC 5424 message: ${message}`);
      return { pri: Number(match[1]), time: match[2]!, host: match[3]!, app: match[4]!, msgid: match[6]!, record: JSON.parse(match[7]!) as AuditRecord };
    });
  }
}

describe('audit.stream to syslog', () => {
  let g: TestGateway;
  let receiver: SyslogReceiver;
  beforeAll(async () => {
    // The receiver is down when the gateway starts.
    receiver = new SyslogReceiver(await freePort());
    g = await startTestGateway({ settings: { audit: { stream: `syslog://127.0.0.1:${receiver.port}` } } });
  }, 120_000);
  afterAll(async () => {
    await g?.stop();
    await receiver?.close();
  });
  const metrics = () => fetch(`http://${g.address('web').host}:${g.address('web').port}/metrics`).then((response) => response.text());

  it('neither blocks nor loses chain writes while the receiver is down, and delivers everything in order once it is up', async () => {
    await everydayWork(g, 'syslogged');
    const verify = await cliOk(g, ['verify', '--chain-only']);
    expect(verify).toMatch(/^audit chain intact: /m);
    expect(receiver.messages).toEqual([]);
    // Behind by what it could not deliver.
    await waitFor(async () => Number(/^custos_audit_stream_lag_events (\d+)$/m.exec(await metrics())?.[1]) > 0, { what: 'a stream lag above 0' });

    await receiver.listen();
    const head = await headSeq(g);
    const messages = await waitFor(() => receiver.messages.length > 0 && receiver.parsed().at(-1)!.record.seq >= head && receiver.parsed(), {
      timeoutMs: 60_000,
      what: 'the syslog receiver to get every event',
    });
    const records = messages.map((message) => message.record);
    expect(records[0]).toMatchObject({ type: 'gateway.start' });
    expectConsecutive(records);
    for (const message of messages) {
      expect(message).toMatchObject({ host: 'test-node', app: 'custos', msgid: message.record.type, time: message.record.time });
      // authpriv (10) × 8 + info (6), or warning (4) for failed attempts.
      expect(message.pri).toBe(message.record.ocsf.status_id === 2 ? 84 : 86);
      expect(message.record.schema).toBe('custos.audit/1');
    }
    expect(records.map((record) => record.type)).toEqual(expect.arrayContaining(['resource.create', 'token.create']));
    const listed = parseLines(await cliOk(g, ['audit', 'ls', '--format', 'jsonl']));
    for (const record of records) expect(record).toEqual(listed.find((line) => line.seq === record.seq));

    await waitFor(async () => /^custos_audit_stream_lag_events 0$/m.test(await metrics()), { what: 'the stream lag back to 0' });
  });
});
