import { checkSetting, unsupportedSwitch, type StartupRefusal } from './startup-parameters.js';

/**
 * How a client names who it is and what it wants, with nothing but standard startup
 * parameters:
 *
 * - `user` is the Custos identity, optionally followed by `/` and the database user to log
 *   in upstream as: `alice` (the role's default database user) or `alice/app_ro`;
 * - `database` is the target name;
 * - alternatively the database user can be given as a server option,
 *   `options=-c custos.db_user=app_ro` (for tools that cannot change the user name);
 * - the other parameters, and the `-c` settings of `options`, are forwarded upstream when
 *   they are on the list in startup-parameters.ts; any other makes the gateway refuse the
 *   connection (once the identity is proved, so the refusal has an actor).
 */
export interface ClientRequest {
  identity: string;
  target: string;
  dbUser: string | null;
  /** Parameters to send upstream, in the client's order (what the session records). */
  forward: Array<[string, string]>;
  /** `_pq_.*` protocol options we do not support (reported with NegotiateProtocolVersion). */
  unsupportedProtocolOptions: string[];
  /** The first parameter that cannot be forwarded: the connection is refused with 28000. */
  refused: StartupRefusal | null;
}

export class StartupRequestError extends Error {}

export const DB_USER_OPTION = 'custos.db_user';

export function readClientRequest(parameters: Map<string, string>): ClientRequest {
  const user = parameters.get('user') ?? '';
  if (!user) throw new StartupRequestError('no user name given: connect with user=<identity> (or <identity>/<database user>)');
  const slash = user.indexOf('/');
  const identity = slash < 0 ? user : user.slice(0, slash);
  let dbUser = slash < 0 ? null : user.slice(slash + 1) || null;
  if (!identity) throw new StartupRequestError(`"${user}" does not name an identity: use <identity> or <identity>/<database user>`);
  const target = parameters.get('database') || identity;
  const replication = parameters.get('replication');
  if (replication && !/^(false|off|no|0)$/i.test(replication)) {
    throw new StartupRequestError('replication connections are not supported through the gateway');
  }

  const forward: Array<[string, string]> = [];
  const unsupportedProtocolOptions: string[] = [];
  let refused: StartupRefusal | null = null;
  for (const [name, value] of parameters) {
    if (name === 'user' || name === 'database' || name === 'replication') continue;
    if (name.startsWith('_pq_.')) {
      unsupportedProtocolOptions.push(name);
      continue;
    }
    if (name === 'options') {
      const { settings, unsupported } = parseOptions(value);
      if (unsupported !== null) refused ??= unsupportedSwitch(unsupported, value);
      const kept: string[] = [];
      for (const setting of settings) {
        if (setting.name.toLowerCase() === DB_USER_OPTION) {
          if (dbUser !== null && dbUser !== setting.value) {
            throw new StartupRequestError(`the database user is given twice, as "${dbUser}" (user name) and "${setting.value}" (${DB_USER_OPTION})`);
          }
          dbUser = setting.value || null;
          continue;
        }
        // Other custos.* settings are the gateway's, never the server's.
        if (setting.name.toLowerCase().startsWith('custos.')) continue;
        const refusal = checkSetting(setting.name, setting.value, 'options');
        if (refusal) refused ??= refusal;
        else kept.push(`-c ${escapeOption(`${setting.name}=${setting.value}`)}`);
      }
      if (kept.length > 0) forward.push([name, kept.join(' ')]);
      continue;
    }
    const refusal = checkSetting(name, value, null);
    if (refusal) refused ??= refusal;
    else forward.push([name, value]);
  }
  return { identity, target, dbUser, forward, unsupportedProtocolOptions, refused };
}

export interface OptionSetting {
  name: string;
  value: string;
}

/**
 * Reads a PostgreSQL `options` string as the server does (words split at whitespace,
 * backslash escapes the next character): the settings given as `-c name=value`,
 * `-cname=value` or `--name=value`, and the first word that is none of those (the server
 * would read it as another command-line switch).
 */
export function parseOptions(options: string): { settings: OptionSetting[]; unsupported: string | null } {
  const words = splitOptions(options);
  const settings: OptionSetting[] = [];
  let unsupported: string | null = null;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let setting: string | null = null;
    if (word === '-c' && i + 1 < words.length) setting = words[++i]!;
    else if (word.startsWith('-c') && word.length > 2) setting = word.slice(2);
    else if (word.startsWith('--') && word.length > 2) setting = word.slice(2);
    const equals = setting?.indexOf('=') ?? -1;
    if (setting === null || equals <= 0) {
      unsupported ??= word;
      continue;
    }
    settings.push({ name: setting.slice(0, equals), value: setting.slice(equals + 1) });
  }
  return { settings, unsupported };
}

function splitOptions(options: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!;
    if (c === '\\' && i + 1 < options.length) {
      current += options[++i];
      inWord = true;
    } else if (OPTION_SPACE.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

function escapeOption(word: string): string {
  return word.replace(/[\\ \t\n\v\f\r]/g, (c) => `\\${c}`);
}

/** The server splits options at ASCII whitespace only (pg_split_opts uses isspace). */
const OPTION_SPACE = /[ \t\n\v\f\r]/;
