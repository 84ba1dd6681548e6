/**
 * How a client names who it is and what it wants, with nothing but standard startup
 * parameters:
 *
 * - `user` is the Custos identity, optionally followed by `/` and the database user to log
 *   in upstream as: `alice` (the role's default database user) or `alice/app_ro`;
 * - `database` is the target name;
 * - alternatively the database user can be given as a server option,
 *   `options=-c custos.db_user=app_ro` (for tools that cannot change the user name);
 * - every other parameter (application_name, options, client_encoding, DateStyle,
 *   TimeZone, search_path …) is forwarded upstream unchanged, minus the custos.* options.
 */
export interface ClientRequest {
  identity: string;
  target: string;
  dbUser: string | null;
  /** Parameters to send upstream, in the client's order. */
  forward: Array<[string, string]>;
  /** `_pq_.*` protocol options we do not support (reported with NegotiateProtocolVersion). */
  unsupportedProtocolOptions: string[];
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
  for (const [name, value] of parameters) {
    if (name === 'user' || name === 'database' || name === 'replication') continue;
    if (name.startsWith('_pq_.')) {
      unsupportedProtocolOptions.push(name);
      continue;
    }
    if (name === 'options') {
      const { rest, settings } = extractCustomOptions(value);
      const requested = settings.get(DB_USER_OPTION);
      if (requested !== undefined) {
        if (dbUser !== null && dbUser !== requested) {
          throw new StartupRequestError(`the database user is given twice, as "${dbUser}" (user name) and "${requested}" (${DB_USER_OPTION})`);
        }
        dbUser = requested || null;
      }
      if (rest) forward.push([name, rest]);
      continue;
    }
    forward.push([name, value]);
  }
  return { identity, target, dbUser, forward, unsupportedProtocolOptions };
}

/**
 * Takes the custos.* settings out of a PostgreSQL `options` string (`-c name=value`,
 * `-cname=value`, `--name=value`; backslash escapes the next character) and returns the rest,
 * re-escaped.
 */
export function extractCustomOptions(options: string): { rest: string; settings: Map<string, string> } {
  const words = splitOptions(options);
  const kept: string[] = [];
  const settings = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let setting: string | null = null;
    let consumed = 1;
    if (word === '-c' && i + 1 < words.length) {
      setting = words[i + 1]!;
      consumed = 2;
    } else if (word.startsWith('-c') && word.length > 2) {
      setting = word.slice(2);
    } else if (word.startsWith('--')) {
      setting = word.slice(2);
    }
    const equals = setting?.indexOf('=') ?? -1;
    if (setting && equals > 0 && setting.slice(0, equals).toLowerCase().startsWith('custos.')) {
      settings.set(setting.slice(0, equals).toLowerCase(), setting.slice(equals + 1));
      i += consumed - 1;
      continue;
    }
    kept.push(word);
  }
  return { rest: kept.map(escapeOption).join(' '), settings };
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
    } else if (/\s/.test(c)) {
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
  return word.replace(/[\\\s]/g, (c) => `\\${c}`);
}
