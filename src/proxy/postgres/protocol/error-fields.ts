/** The fields of an ErrorResponse / NoticeResponse body the gateway looks at. */
export interface ReportedError {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 1-based character position in the query string, when the server reports one. */
  position?: number;
}

export function parseErrorFields(body: Buffer): ReportedError {
  const out: ReportedError = { severity: 'ERROR', code: '', message: '' };
  let offset = 0;
  let sawV = false;
  while (offset < body.length) {
    const field = body[offset]!;
    if (field === 0) break;
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    const value = body.toString('utf8', offset + 1, end);
    offset = end + 1;
    switch (field) {
      case 0x56: // V: severity, not localized
        out.severity = value;
        sawV = true;
        break;
      case 0x53: // S: severity, possibly localized (V wins when present)
        if (!sawV) out.severity = value;
        break;
      case 0x43: // C
        out.code = value;
        break;
      case 0x4d: // M
        out.message = value;
        break;
      case 0x44: // D
        out.detail = value;
        break;
      case 0x48: // H
        out.hint = value;
        break;
      case 0x50: {
        // P
        const position = Number(value);
        if (Number.isInteger(position) && position > 0) out.position = position;
        break;
      }
    }
  }
  return out;
}
