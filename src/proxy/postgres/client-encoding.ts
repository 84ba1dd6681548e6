import { isUtf8 } from 'node:buffer';

/**
 * Turns the bytes a client sent (statements, text parameters) into text, in the session's
 * client_encoding as the server reports it. Invalid bytes become U+FFFD in the text; the
 * capture keeps the exact bytes (base64) whenever the text would not be faithful.
 */
export interface TextDecoding {
  readonly name: string;
  /** The text, and whether it represents the bytes exactly. */
  decode(bytes: Buffer): { text: string; exact: boolean };
}

/** PostgreSQL encoding names → WHATWG labels Node's TextDecoder knows. */
const WHATWG: Record<string, string> = {
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN5: 'windows-1254',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  ISO_8859_5: 'iso-8859-5',
  ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7',
  ISO_8859_8: 'iso-8859-8',
  WIN866: 'ibm866',
  WIN874: 'windows-874',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  EUC_JP: 'euc-jp',
  EUC_KR: 'euc-kr',
  EUC_CN: 'gbk',
  SJIS: 'shift_jis',
  GBK: 'gbk',
  GB18030: 'gb18030',
  BIG5: 'big5',
};

const utf8: TextDecoding = {
  name: 'UTF8',
  decode(bytes) {
    // The common case is valid UTF-8; checking first keeps the decode on the fast path.
    if (isUtf8(bytes)) return { text: bytes.toString('utf8'), exact: true };
    return { text: bytes.toString('utf8'), exact: false };
  },
};

const latin1: TextDecoding = {
  name: 'LATIN1',
  decode: (bytes) => ({ text: bytes.toString('latin1'), exact: true }),
};

export function decodingFor(encoding: string): TextDecoding {
  const name = encoding.toUpperCase().replace(/-/g, '_');
  if (name === 'UTF8' || name === 'UTF_8' || name === 'UNICODE') return utf8;
  if (name === 'LATIN1' || name === 'ISO_8859_1') return latin1;
  if (name === 'SQL_ASCII') {
    // Bytes with no declared encoding: text when it happens to be UTF-8, otherwise not exact.
    return { name: 'SQL_ASCII', decode: utf8.decode };
  }
  const label = WHATWG[name];
  if (label) {
    const decoder = new TextDecoder(label, { fatal: true });
    const lenient = new TextDecoder(label);
    return {
      name,
      decode(bytes) {
        try {
          return { text: decoder.decode(bytes), exact: true };
        } catch {
          return { text: lenient.decode(bytes), exact: false };
        }
      },
    };
  }
  return { name, decode: (bytes) => ({ text: bytes.toString('utf8'), exact: false }) };
}

export const UTF8_DECODING = utf8;
