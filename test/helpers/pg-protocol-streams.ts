import { serialize } from 'pg-protocol';

/** A deterministic PRNG (mulberry32) so fuzz failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A message with its Buffers as hex strings, for deep equality. */
export function plain(message: object): unknown {
  return JSON.parse(
    JSON.stringify(message, (_key, value: unknown) => {
      if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
        return `hex:${Buffer.from((value as { data: number[] }).data).toString('hex')}`;
      }
      return value;
    }),
  );
}

const hex = (text: string | Buffer) => `hex:${Buffer.from(text).toString('hex')}`;

/** Every session-phase frontend message, serialized by pg-protocol, with what the parser must give. */
export function frontendStream(): { bytes: Buffer; expected: unknown[] } {
  const binary = Buffer.from([0, 1, 2, 0xff]);
  const pairs: Array<[Buffer, unknown]> = [
    [serialize.query('select 1; select \'é\''), { name: 'query', text: hex("select 1; select 'é'") }],
    [
      serialize.parse({ name: 's1', text: 'select $1::int, $2', types: [23, 0] }),
      { name: 'parse', statement: 's1', text: hex('select $1::int, $2'), paramTypes: [23, 0] },
    ],
    [serialize.parse({ text: 'select 2' }), { name: 'parse', statement: '', text: hex('select 2'), paramTypes: [] }],
    [
      serialize.bind({ portal: 'p1', statement: 's1', values: ['42', null, binary] }),
      { name: 'bind', portal: 'p1', statement: 's1', paramFormats: [0, 0, 1], params: [hex('42'), null, hex(binary)], resultFormats: [0] },
    ],
    [serialize.bind({}), { name: 'bind', portal: '', statement: '', paramFormats: [], params: [], resultFormats: [0] }],
    [serialize.describe({ type: 'S', name: 's1' }), { name: 'describe', target: 'S', objectName: 's1' }],
    [serialize.describe({ type: 'P', name: '' }), { name: 'describe', target: 'P', objectName: '' }],
    [serialize.execute({ portal: 'p1', rows: 100 }), { name: 'execute', portal: 'p1', maxRows: 100 }],
    [serialize.execute(), { name: 'execute', portal: '', maxRows: 0 }],
    [serialize.flush(), { name: 'flush' }],
    [serialize.close({ type: 'P', name: 'p1' }), { name: 'close', target: 'P', objectName: 'p1' }],
    [serialize.close({ type: 'S', name: 's1' }), { name: 'close', target: 'S', objectName: 's1' }],
    [serialize.sync(), { name: 'sync' }],
    [serialize.copyData(Buffer.from('1\tone\n2\ttwo\n')), { name: 'copyData', length: 12 }],
    [serialize.copyData(Buffer.alloc(0)), { name: 'copyData', length: 0 }],
    [serialize.copyDone(), { name: 'copyDone' }],
    [serialize.copyFail('stop'), { name: 'copyFail', message: hex('stop') }],
    [functionCall(1598, [Buffer.from('7'), null]), { name: 'functionCall', oid: 1598, argFormats: [0], args: [hex('7'), null], resultFormat: 0 }],
    [serialize.end(), { name: 'terminate' }],
  ];
  return { bytes: Buffer.concat(pairs.map(([bytes]) => bytes)), expected: pairs.map(([, message]) => message) };
}

/** FunctionCall ('F'), which pg-protocol does not serialize: text-format arguments. */
export function functionCall(oid: number, args: Array<Buffer | null>): Buffer {
  const parts: Buffer[] = [];
  const int16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  parts.push(int32(oid), int16(1), int16(0), int16(args.length));
  for (const arg of args) parts.push(arg === null ? int32(-1) : Buffer.concat([int32(arg.length), arg]));
  parts.push(int16(0));
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x46]), int32(body.length + 4), body]);
}
