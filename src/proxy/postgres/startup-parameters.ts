/**
 * Which startup parameters the gateway forwards upstream. A startup parameter (or a `-c`
 * setting inside `options`) sets a server setting for the whole session before any statement
 * runs, so it never appears in the query log: the gateway forwards only settings that change
 * how results look, timeouts and transaction defaults — what drivers send at connect — and
 * records them with the session. Settings that change who the session acts as are refused:
 * `SET ROLE` in SQL does that, and is recorded.
 */

/** Forwarded settings (lower case: setting names are case-insensitive), with the clients that send them. */
export const FORWARDED_PARAMETERS: readonly string[] = [
  'application_name', // libpq (psql, pgbench, psycopg), pgjdbc, node-postgres
  'client_encoding', // libpq, pgjdbc, node-postgres
  'datestyle', // pgjdbc; libpq from PGDATESTYLE
  'timezone', // pgjdbc; libpq from PGTZ
  'geqo', // libpq from PGGEQO
  'intervalstyle',
  'extra_float_digits', // pgjdbc (older versions), others
  'search_path', // pgjdbc currentSchema
  'statement_timeout', // node-postgres
  'lock_timeout', // node-postgres
  'idle_in_transaction_session_timeout', // node-postgres
  'idle_session_timeout',
  'bytea_output',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'default_transaction_deferrable',
];

/** Settings that change the identity or authorization of the session: refused with their own message. */
export const IDENTITY_PARAMETERS: readonly string[] = [
  'role',
  'session_authorization',
  // Replica mode turns off triggers and rules, audit triggers included.
  'session_replication_role',
];

const FORWARDED = new Set(FORWARDED_PARAMETERS);
const IDENTITY = new Set(IDENTITY_PARAMETERS);

/** Why a startup parameter cannot be forwarded (the session is refused with 28000). */
export interface StartupRefusal {
  /** The startup parameter, and the setting inside `options` when it is one. */
  parameter: string;
  setting: string | null;
  value: string;
  kind: 'identity' | 'unsupported';
  message: string;
  hint: string;
}

/** A setting name as the server reads it: `-c` and `--` settings have `-` for `_`; case does not matter. */
export function settingName(name: string): string {
  return name.toLowerCase();
}

/** The refusal for one setting, or null when it is forwarded. `within` names the `options` parameter it came in. */
export function checkSetting(name: string, value: string, within: 'options' | null): StartupRefusal | null {
  const normalized = settingName(within ? name.replace(/-/g, '_') : name);
  if (FORWARDED.has(normalized)) return null;
  const where = within ? `the setting "${name}" in the startup parameter "options"` : `the startup parameter "${name}"`;
  const base = { parameter: within ?? name, setting: within ? name : null, value };
  if (IDENTITY.has(normalized)) {
    return {
      ...base,
      kind: 'identity',
      message: `${where} would change the identity or authorization of the database session, which the gateway decides; the connection is refused`,
      hint: `connect without it and use SET ROLE (or SET ${normalized}) in SQL after connecting: the gateway records it`,
    };
  }
  return {
    ...base,
    kind: 'unsupported',
    message: `${where} is not one the gateway forwards (it forwards ${FORWARDED_PARAMETERS.join(', ')}); the connection is refused`,
    hint: `connect without it and use SET ${normalized} in SQL after connecting: the gateway records it`,
  };
}

/** A word of `options` that is not a `-c name=value` / `--name=value` setting. */
export function unsupportedSwitch(word: string, value: string): StartupRefusal {
  return {
    parameter: 'options',
    setting: null,
    value,
    kind: 'unsupported',
    message: `the startup parameter "options" holds "${word}": the gateway forwards only -c name=value (or --name=value) settings; the connection is refused`,
    hint: 'pass settings as -c name=value, or use SET in SQL after connecting',
  };
}
