import type { RequestInput } from '../../policy/request-service.js';

/**
 * The SSH front door for access requests: `ssh -p 2222 request@gw web1 --login root --reason
 * disk full on /var --ticket CHG-1`. OpenSSH joins the words of the remote command with
 * spaces (the quotes are the local shell's), so an option's value is every word up to the
 * next `--option`; quotes that do arrive are honoured.
 */
/** A request as typed at the door: `start` as given (a duration from now, or a timestamp). */
export type DoorCommand =
  | ({ kind: 'create'; start?: string } & Omit<RequestInput, 'start'>)
  | { kind: 'ls' }
  | { kind: 'show'; id: string }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

const OPTIONS = {
  '--login': 'login',
  '--db-user': 'dbUser',
  '--kube-group': 'kubeGroup',
  '--reason': 'reason',
  '--ticket': 'ticket',
  '--duration': 'duration',
  '--start': 'start',
  '--for': 'forBot',
} as const;

export const DOOR_USAGE = [
  'usage: ssh request@<gateway> <target> [--login L | --db-user U | --kube-group G] --reason TEXT [--ticket REF] [--duration 1h] [--start WHEN] [--for BOT]',
  '       ssh request@<gateway> ls          your requests and those you may approve',
  '       ssh request@<gateway> show <ID>   one request',
].join('\n');

export function parseDoorCommand(command: string | null): DoorCommand {
  const words = shellWords(command ?? '');
  const first = words[0];
  if (first === undefined || first === 'help' || first === '--help') return { kind: 'help' };
  if (first === 'ls') return words.length === 1 ? { kind: 'ls' } : { kind: 'error', message: '"ls" takes no arguments' };
  if (first === 'show') return words.length === 2 ? { kind: 'show', id: words[1]! } : { kind: 'error', message: 'usage: show <request id>' };
  if (first.startsWith('--')) return { kind: 'error', message: 'name the target first: <target> --reason TEXT …' };
  const values: Partial<Record<(typeof OPTIONS)[keyof typeof OPTIONS], string>> = {};
  let current: (typeof OPTIONS)[keyof typeof OPTIONS] | null = null;
  for (const word of words.slice(1)) {
    if (word.startsWith('--')) {
      const [flag, inline] = word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, null];
      const field = OPTIONS[flag as keyof typeof OPTIONS];
      if (!field) return { kind: 'error', message: `unknown option ${flag} (known: ${Object.keys(OPTIONS).join(', ')})` };
      if (values[field] !== undefined) return { kind: 'error', message: `${flag} is given twice` };
      current = field;
      values[field] = inline ?? '';
      continue;
    }
    if (!current) return { kind: 'error', message: `unexpected "${word}": options come as --name value` };
    values[current] = values[current] ? `${values[current]} ${word}` : word;
  }
  for (const [flag, field] of Object.entries(OPTIONS)) {
    if (values[field] === '') return { kind: 'error', message: `${flag} needs a value` };
  }
  if (!values.reason) return { kind: 'error', message: 'a reason is required: --reason TEXT' };
  return { kind: 'create', target: first, ...values, reason: values.reason };
}

/** Splits like a POSIX shell would for plain words and '…' / "…" quoting. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i]!;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}
