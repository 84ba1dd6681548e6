/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts CSI/OSC
 * sequences that move the cursor, retitle the window or rewrite the screen; CR and LF start
 * a new line that can pass for a real record), DEL, C1 controls (U+009B is CSI on terminals
 * that honour 8-bit controls), and the Unicode bidi and line controls that reorder or break
 * what a line seems to say (U+202E prints the rest of a line right to left).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A value as human-readable CLI output shows it: every control character written as its
 * escape (`\x1b`, `\r`, `\n`, `\u202e`), everything else as it is. Values recorded by the
 * gateway (claimed user names, statement text, reasons) come from whoever connected; every
 * table and text format passes them through here. JSON, JSON lines and CSV stay exact.
 */
export function escapeControls(value: unknown): string {
  return String(value).replace(UNSAFE, escapeOne);
}

/** A template literal whose interpolated values are escaped, for one line of text output. */
export function safeText(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, literal, i) => out + literal + (i < values.length ? escapeControls(values[i]) : ''), '');
}
