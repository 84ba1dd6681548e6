import { serialize } from 'pg-protocol';
import { cancelRequest, gssEncRequest, sslRequest, startupMessage } from '../../src/proxy/postgres/protocol/frontend-serializer.js';
import { functionCall, seededRandom } from './pg-protocol-streams.js';

/**
 * Mutated frontend streams for fuzzing a running gateway. Every input is derived from
 * (seed, index) alone, so a run is reproducible whatever order its connections finish in,
 * and one input can be regenerated on its own to replay it.
 */
export type FuzzPhase = 'startup' | 'auth' | 'session';

export interface FuzzCase {
  index: number;
  phase: FuzzPhase;
  /**
   * What the runner does before writing the fuzzed bytes: nothing (they start the
   * connection), a valid startup packet, a valid SASLInitialResponse whose server-first
   * answer is awaited (the fuzzed bytes stand for the client-final), or a whole login.
   */
  before: 'nothing' | 'startup' | 'sasl-initial' | 'login';
  /** What the stream was built from, and the mutations applied to it. */
  description: string;
  /**
   * The fuzzed bytes, split where they are to be written. `valid` is the message they stand
   * for when only the server's answer makes it (the SCRAM client-final with a real proof).
   */
  chunks(valid?: Buffer): Buffer[];
}

export interface FuzzIdentity {
  /** The identity (startup `user`). */
  user: string;
  /** The target (startup `database`). */
  database: string;
}

type Random = () => number;

/** The input `index` of the run seeded with `seed`. */
export function fuzzCase(seed: number, index: number, identity: FuzzIdentity): FuzzCase {
  const random = seededRandom(mix(seed, index));
  const roll = random();
  if (roll < 0.4) return startupCase(index, random, identity);
  if (roll < 0.7) return authCase(index, random);
  return sessionCase(index, random);
}

// ------------------------------------------------------------------ the three phases

function startupCase(index: number, random: Random, identity: FuzzIdentity): FuzzCase {
  const templates: Array<[string, () => Stream]> = [
    ['startup', () => stream(startupPacket(random, identity))],
    ['startup+pipelined messages', () => stream(startupPacket(random, identity), ...sessionMessages(random, 3))],
    ['ssl request', () => stream(sslRequest())],
    ['ssl request+startup', () => stream(sslRequest(), startupPacket(random, identity))],
    ['gssenc request+startup', () => stream(gssEncRequest(), startupPacket(random, identity))],
    ['cancel request', () => stream(cancelRequest(int32(random), bytes(random, pick(random, [4, 4, 32, 256, 1 + Math.floor(random() * 300)]))))],
    ['direct tls', () => stream(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), bytes(random, Math.floor(random() * 300))]))],
    ['random bytes', () => stream(bytes(random, 1 + Math.floor(random() * 200)))],
    ['long startup', () => stream(startupMessage([['user', identity.user], ['database', identity.database], ...manyParameters(random)]))],
  ];
  const [name, make] = pick(random, templates);
  return fuzzed(index, 'startup', 'nothing', name, make(), random, 0.08);
}

function authCase(index: number, random: Random): FuzzCase {
  if (random() < 0.35) {
    // The client-final with the real proof for the server's nonce, then mutated.
    const mutations = mutationPlan(random, true);
    const splits = random();
    return {
      index,
      phase: 'auth',
      before: 'sasl-initial',
      description: `scram client-final ${mutations.names}`,
      chunks: (valid) => split(mutations.apply(stream(valid ?? Buffer.alloc(0))), seededRandom(Math.floor(splits * 2 ** 32))),
    };
  }
  const nonce = Buffer.from(bytes(random, 18)).toString('base64');
  const templates: Array<[string, () => Stream]> = [
    ['scram blind', () => stream(saslInitial(random, nonce), saslFinal(random, nonce))],
    ['scram initial only', () => stream(saslInitial(random, nonce))],
    ['cleartext password', () => stream(serialize.password(pick(random, ['', 'cus_guess', 'x'.repeat(2000)])))],
    ['auth then session messages', () => stream(saslInitial(random, nonce), saslFinal(random, nonce), ...sessionMessages(random, 3))],
  ];
  const [name, make] = pick(random, templates);
  return fuzzed(index, 'auth', 'startup', name, make(), random, 0.05);
}

function sessionCase(index: number, random: Random): FuzzCase {
  return fuzzed(index, 'session', 'login', 'session messages', stream(...sessionMessages(random, 1 + Math.floor(random() * 12))), random, 0.1);
}

function fuzzed(index: number, phase: FuzzPhase, before: FuzzCase['before'], name: string, template: Stream, random: Random, unmutated: number): FuzzCase {
  const mutations = mutationPlan(random, random() >= unmutated);
  const bytesOut = mutations.apply(template);
  const chunks = split(bytesOut, random);
  return { index, phase, before, description: `${name} ${mutations.names}`.trim(), chunks: () => chunks };
}

// ------------------------------------------------------------------ valid material

/** Statements that read, or write only to a temporary table; a mutated one stays harmless. */
const STATEMENTS = [
  'select 1',
  'select $1::int + 1',
  'select name, price from items where id = $1',
  "select 'é' || $1",
  'select count(*) from items',
  'begin',
  'commit',
  'rollback',
  'savepoint s1',
  'release savepoint s1',
  'create temp table if not exists fuzz_t (a int, b text)',
  'copy fuzz_t from stdin',
  'copy (select g from generate_series(1, 20) g) to stdout',
  "select set_config('application_name', $1, false)",
  'show server_version',
  'select * from missing_table',
  'select 1/0',
  'prepare p1 as select $1::text',
  'execute p1(1)',
  'deallocate all',
  'discard all',
  'listen fuzz_channel',
  "notify fuzz_channel, 'x'",
  'select 1; select 2',
];

function sessionMessages(random: Random, count: number): Buffer[] {
  const out: Buffer[] = [];
  const text = () => pick(random, STATEMENTS);
  const value = () => (random() < 0.1 ? null : pick(random, ['1', '42', 'é', '', 'x'.repeat(300)]));
  const name = () => pick(random, ['', '', 's1', 's2', 'p1', 'x'.repeat(63)]);
  for (let i = 0; i < count; i++) {
    const kind = Math.floor(random() * 10);
    if (kind <= 2) out.push(serialize.query(text()));
    else if (kind <= 5) {
      const statement = name();
      const portal = pick(random, ['', '', 'p1']);
      out.push(serialize.parse({ name: statement, text: text(), types: random() < 0.3 ? [23] : [] }));
      out.push(serialize.bind({ statement, portal, values: Array.from({ length: Math.floor(random() * 3) }, value) }));
      if (random() < 0.5) out.push(serialize.describe({ type: 'P', name: portal }));
      out.push(serialize.execute({ portal, rows: pick(random, [0, 0, 1, 5]) }));
      if (random() < 0.8) out.push(serialize.sync());
    } else if (kind === 6) {
      out.push(serialize.query('copy fuzz_t from stdin'));
      for (let rows = Math.floor(random() * 3); rows > 0; rows--) out.push(serialize.copyData(Buffer.from(`${Math.floor(random() * 100)}\trow\n`)));
      out.push(random() < 0.8 ? serialize.copyDone() : serialize.copyFail('fuzz'));
    } else if (kind === 7) {
      out.push(pick(random, [serialize.close({ type: 'S', name: name() }), serialize.close({ type: 'P', name: '' }), serialize.describe({ type: 'S', name: name() })]));
      out.push(serialize.sync());
    } else if (kind === 8) {
      // FunctionCall: upper(text) (OID 871) as it should be called, and random() (1598) with arguments it does not take.
      out.push(pick(random, [serialize.flush(), serialize.sync(), functionCall(871, [Buffer.from('fuzz')]), functionCall(1598, [Buffer.from('7'), null])]));
    }
    else out.push(random() < 0.2 ? serialize.end() : serialize.sync());
  }
  return out;
}

function startupPacket(random: Random, identity: FuzzIdentity): Buffer {
  const parameters: Array<[string, string]> = [
    ['user', identity.user],
    ['database', identity.database],
  ];
  const extras: Array<[string, string]> = [
    ['application_name', pick(random, ['psql', 'fuzz', 'é', ''])],
    ['client_encoding', pick(random, ['UTF8', 'LATIN1', 'SQL_ASCII', 'nonsense'])],
    ['options', pick(random, ['-c statement_timeout=5s', '--search_path=public', '-c custos.db_user=trusting', '-c', '\\'])],
    ['DateStyle', 'ISO, MDY'],
    ['replication', pick(random, ['false', 'true', 'database'])],
    ['_pq_.fuzz', '1'],
    ['user', pick(random, [identity.user, '', 'nobody', `${identity.user}/trusting`])],
  ];
  for (const extra of extras) if (random() < 0.2) parameters.push(extra);
  const packet = startupMessage(parameters);
  // Protocol 3.x with a minor version the gateway answers with NegotiateProtocolVersion.
  if (random() < 0.1) packet.writeInt32BE(0x00030000 + pick(random, [1, 2, 0xffff]), 4);
  return packet;
}

function manyParameters(random: Random): Array<[string, string]> {
  const count = pick(random, [50, 400, 1200]);
  return Array.from({ length: count }, (_, i) => [`p${i}`, 'v'.repeat(Math.floor(random() * 10))]);
}

function saslInitial(random: Random, nonce: string): Buffer {
  const mechanism = pick(random, ['SCRAM-SHA-256', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1', '']);
  const header = pick(random, ['n,,', 'n,,', 'y,,', 'p=tls-server-end-point,,', 'n,a=someone,', 'x']);
  const data = `${header}n=,r=${nonce}${random() < 0.1 ? ',e=extension' : ''}`;
  return serialize.sendSASLInitialResponseMessage(mechanism, data);
}

function saslFinal(random: Random, nonce: string): Buffer {
  const proof = Buffer.from(bytes(random, pick(random, [32, 32, 31, 0]))).toString('base64');
  const channel = pick(random, ['biws', 'biws', 'eSws', '']);
  return serialize.sendSCRAMClientFinalMessage(`c=${channel},r=${nonce}${random() < 0.5 ? 'server-part' : ''},p=${proof}`);
}

// ------------------------------------------------------------------ mutation

/** Bytes with the offsets where messages start (length fields follow the type byte, or start a startup packet). */
interface Stream {
  bytes: Buffer;
  /** Offsets of length words. */
  lengths: number[];
}

function stream(...messages: Buffer[]): Stream {
  const lengths: number[] = [];
  let offset = 0;
  for (const message of messages) {
    // Startup-phase packets begin with their length; typed messages with a letter.
    lengths.push(message.length >= 4 && message.readInt32BE(0) === message.length ? offset : offset + 1);
    offset += message.length;
  }
  return { bytes: Buffer.concat(messages), lengths };
}

const INTERESTING_INT32 = [0, -1, 1, 3, 4, 5, 7, 8, 9, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 10_000, 10_001, 1 << 24, 1 << 30];

type Mutation = (input: Stream, random: Random) => Stream;

const MUTATIONS: Array<[string, Mutation]> = [
  ['flip-bit', (s, r) => withBytes(s, (b) => {
    const offset = at(r, b);
    if (offset < b.length) b[offset] = b[offset]! ^ (1 << Math.floor(r() * 8));
  })],
  ['set-byte', (s, r) => withBytes(s, (b) => {
    const offset = at(r, b);
    if (offset < b.length) b[offset] = pick(r, [0, 0xff, 0x7f, 0x80, Math.floor(r() * 256)]);
  })],
  ['insert', (s, r) => splice(s, r, 0, bytes(r, 1 + Math.floor(r() * 8)))],
  ['delete', (s, r) => splice(s, r, 1 + Math.floor(r() * 8), Buffer.alloc(0))],
  ['truncate', (s, r) => ({ ...s, bytes: s.bytes.subarray(0, at(r, s.bytes)) })],
  ['duplicate', (s, r) => {
    const from = at(r, s.bytes);
    return splice(s, r, 0, Buffer.from(s.bytes.subarray(from, from + 1 + Math.floor(r() * 64))));
  }],
  ['append', (s, r) => ({ ...s, bytes: Buffer.concat([s.bytes, bytes(r, 1 + Math.floor(r() * 32))]) })],
  ['length', (s, r) => withBytes(s, (b) => {
    const offset = s.lengths.length ? pick(r, s.lengths) : at(r, b);
    if (offset + 4 > b.length) return;
    const current = b.readInt32BE(offset);
    b.writeInt32BE(pick(r, [...INTERESTING_INT32, current - 1, current + 1, current * 2]) | 0, offset);
  })],
  ['int32', (s, r) => withBytes(s, (b) => (b.length >= 4 ? b.writeInt32BE(pick(r, INTERESTING_INT32) | 0, Math.floor(r() * (b.length - 3))) : 0))],
  ['int16', (s, r) => withBytes(s, (b) => (b.length >= 2 ? b.writeUInt16BE(pick(r, [0, 1, 2, 0x7fff, 0xffff, 0x8000]), Math.floor(r() * (b.length - 1))) : 0))],
  ['type', (s, r) => withBytes(s, (b) => {
    const offset = (s.lengths.length ? pick(r, s.lengths) : 1) - 1;
    if (offset >= 0 && offset < b.length) b[offset] = pick(r, [...Buffer.from('BCDEFHPQSXcdfpz'), Math.floor(r() * 256)]);
  })],
];

/** One to six mutations (fewer more often), or none when `mutate` is false (the valid stream as a control). */
function mutationPlan(random: Random, mutate: boolean): { names: string; apply(input: Stream): Buffer } {
  let count = mutate ? 1 : 0;
  while (mutate && count < 6 && random() < 0.45) count += 1;
  const chosen = Array.from({ length: count }, () => pick(random, MUTATIONS));
  const seed = Math.floor(random() * 2 ** 32);
  return {
    names: chosen.map(([name]) => name).join(','),
    apply: (input) => {
      const r = seededRandom(seed);
      let current: Stream = { bytes: Buffer.from(input.bytes), lengths: input.lengths };
      for (const [, mutate] of chosen) current = mutate(current, r);
      return current.bytes;
    },
  };
}

function withBytes(s: Stream, change: (bytes: Buffer) => unknown): Stream {
  change(s.bytes);
  return s;
}

function splice(s: Stream, random: Random, remove: number, insert: Buffer): Stream {
  const offset = at(random, s.bytes);
  return { ...s, bytes: Buffer.concat([s.bytes.subarray(0, offset), insert, s.bytes.subarray(offset + remove)]) };
}

/** Split points: none, a few, or (for short inputs) every byte. */
function split(input: Buffer, random: Random): Buffer[] {
  if (input.length <= 1) return [input];
  if (input.length <= 64 && random() < 0.05) return Array.from(input, (byte) => Buffer.from([byte]));
  const points = new Set<number>();
  const count = Math.floor(random() * Math.min(8, input.length));
  for (let i = 0; i < count; i++) points.add(1 + Math.floor(random() * (input.length - 1)));
  const sorted = [...points].sort((a, b) => a - b);
  return [0, ...sorted].map((start, i) => input.subarray(start, sorted[i] ?? input.length));
}

// ------------------------------------------------------------------ small helpers

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function at(random: Random, buffer: Buffer): number {
  return Math.floor(random() * Math.max(1, buffer.length));
}

function bytes(random: Random, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function int32(random: Random): number {
  return Math.floor(random() * 2 ** 32) | 0;
}

/** One 32-bit seed per (run seed, input index). */
function mix(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
