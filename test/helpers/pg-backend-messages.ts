/**
 * Server (backend) messages as PostgreSQL sends them, for feeding the gateway's capture in
 * unit tests. Each builds one complete message: type byte, length, body.
 */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = type.charCodeAt(0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const cstring = (text: string) => Buffer.from(`${text}\0`);
const int16 = (value: number) => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
};

export const be = {
  parseComplete: () => message('1'),
  bindComplete: () => message('2'),
  closeComplete: () => message('3'),
  noData: () => message('n'),
  portalSuspended: () => message('s'),
  emptyQuery: () => message('I'),
  rowDescription: () => message('T', int16(0)),
  parameterDescription: (oids: number[]) => message('t', int16(oids.length), ...oids.map(int32)),
  dataRow: (value = 'x') => message('D', int16(1), int32(Buffer.byteLength(value)), Buffer.from(value)),
  /** `count` DataRows. */
  rows: (count: number) => Buffer.concat(Array.from({ length: count }, (_, i) => be.dataRow(String(i)))),
  complete: (tag: string) => message('C', cstring(tag)),
  error: (code: string, text = `error ${code}`, position?: number) =>
    message('E', cstring(`SERROR`), cstring('VERROR'), cstring(`C${code}`), cstring(`M${text}`), ...(position ? [cstring(`P${position}`)] : []), Buffer.from([0])),
  ready: (status: 'I' | 'T' | 'E' = 'I') => message('Z', Buffer.from(status)),
  copyInResponse: () => message('G', Buffer.from([0]), int16(0)),
  copyOutResponse: () => message('H', Buffer.from([0]), int16(0)),
  copyData: (bytes: Buffer | string) => message('d', Buffer.from(bytes)),
  copyDone: () => message('c'),
  functionCallResponse: (value: string) => message('V', int32(Buffer.byteLength(value)), Buffer.from(value)),
  parameterStatus: (name: string, value: string) => message('S', cstring(name), cstring(value)),
};
