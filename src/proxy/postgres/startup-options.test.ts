import { describe, expect, it } from 'vitest';
import { parseOptions, readClientRequest } from './startup-options.js';

const request = (entries: Array<[string, string]>) => readClientRequest(new Map(entries));
const refusal = (entries: Array<[string, string]>) => {
  const refused = request(entries).refused;
  return refused && { parameter: refused.parameter, setting: refused.setting, kind: refused.kind };
};

describe('readClientRequest', () => {
  it('reads the identity and target, and forwards the rest in order', () => {
    expect(request([['user', 'alice'], ['database', 'orders'], ['application_name', 'psql'], ['client_encoding', 'LATIN1'], ['DateStyle', 'ISO, DMY']])).toEqual({
      identity: 'alice',
      target: 'orders',
      dbUser: null,
      forward: [['application_name', 'psql'], ['client_encoding', 'LATIN1'], ['DateStyle', 'ISO, DMY']],
      unsupportedProtocolOptions: [],
      refused: null,
    });
  });

  it('takes the database user from user=identity/dbuser', () => {
    expect(request([['user', 'alice/app_ro'], ['database', 'orders']])).toMatchObject({ identity: 'alice', dbUser: 'app_ro' });
  });

  it('takes the database user from options=-c custos.db_user=…, and forwards the other options', () => {
    const result = request([['user', 'alice'], ['database', 'orders'], ['options', '-c search_path=a\\ b -c custos.db_user=app_ro --statement_timeout=5s']]);
    expect(result.dbUser).toBe('app_ro');
    expect(result.forward).toEqual([['options', '-c search_path=a\\ b -c statement_timeout=5s']]);
    expect(result.refused).toBeNull();
    expect(request([['user', 'alice'], ['options', '-ccustos.db_user=x']]).forward).toEqual([]);
  });

  it('refuses conflicting database users, replication and a missing user', () => {
    expect(() => request([['user', 'alice/a'], ['options', '-c custos.db_user=b']])).toThrow(/given twice/);
    expect(() => request([['user', 'alice'], ['replication', 'database']])).toThrow(/replication/);
    expect(() => request([['database', 'x']])).toThrow(/no user name/);
    expect(() => request([['user', '/app']])).toThrow(/does not name an identity/);
  });

  it('defaults the target to the user name, as PostgreSQL defaults the database', () => {
    expect(request([['user', 'alice']]).target).toBe('alice');
  });

  it('reports _pq_ protocol options instead of forwarding them', () => {
    expect(request([['user', 'a'], ['_pq_.foo', 'x']])).toMatchObject({ forward: [], unsupportedProtocolOptions: ['_pq_.foo'] });
  });

  it('forwards what psql, pgbench, pgjdbc and node-postgres send', () => {
    const libpq: Array<[string, string]> = [['application_name', 'pgbench'], ['client_encoding', 'UTF8'], ['datestyle', 'ISO'], ['timezone', 'UTC'], ['geqo', 'off']];
    const pgjdbc: Array<[string, string]> = [['client_encoding', 'UTF8'], ['DateStyle', 'ISO'], ['TimeZone', 'Europe/Paris'], ['extra_float_digits', '3'], ['application_name', 'PostgreSQL JDBC Driver'], ['search_path', 'app']];
    const nodePg: Array<[string, string]> = [['statement_timeout', '5000'], ['lock_timeout', '100'], ['idle_in_transaction_session_timeout', '6000'], ['client_encoding', 'UTF8']];
    for (const params of [libpq, pgjdbc, nodePg]) {
      expect(request([['user', 'alice'], ...params])).toMatchObject({ forward: params, refused: null });
    }
  });

  it.each([
    [[['role', 'pii_reader']], { parameter: 'role', setting: null, kind: 'identity' }],
    [[['ROLE', 'pii_reader']], { parameter: 'ROLE', setting: null, kind: 'identity' }],
    [[['session_authorization', 'postgres']], { parameter: 'session_authorization', setting: null, kind: 'identity' }],
    [[['options', '-c role=pii_reader']], { parameter: 'options', setting: 'role', kind: 'identity' }],
    [[['options', '-crole=pii_reader']], { parameter: 'options', setting: 'role', kind: 'identity' }],
    [[['options', '--session-authorization=postgres']], { parameter: 'options', setting: 'session-authorization', kind: 'identity' }],
    [[['options', '-c search_path=x -c Session_Replication_Role=replica']], { parameter: 'options', setting: 'Session_Replication_Role', kind: 'identity' }],
    [[['options', '-ec role=pii_reader']], { parameter: 'options', setting: null, kind: 'unsupported' }],
    [[['options', '-c role']], { parameter: 'options', setting: null, kind: 'unsupported' }],
    [[['options', '-B 1000']], { parameter: 'options', setting: null, kind: 'unsupported' }],
    [[['options', '-c log_statement=none']], { parameter: 'options', setting: 'log_statement', kind: 'unsupported' }],
    [[['work_mem', '1GB']], { parameter: 'work_mem', setting: null, kind: 'unsupported' }],
    [[['local_preload_libraries', 'x']], { parameter: 'local_preload_libraries', setting: null, kind: 'unsupported' }],
  ] as Array<[Array<[string, string]>, object]>)('refuses %j', (params, expected) => {
    expect(refusal([['user', 'alice'], ...params])).toEqual(expected);
  });

  it('says what to do instead', () => {
    const refused = request([['user', 'alice'], ['options', '-c role=pii_reader']]).refused!;
    expect(refused.message).toBe('the setting "role" in the startup parameter "options" would change the identity or authorization of the database session, which the gateway decides; the connection is refused');
    expect(refused.hint).toMatch(/SET ROLE/);
    expect(request([['user', 'alice'], ['work_mem', '1GB']]).refused!.message).toMatch(/^the startup parameter "work_mem" is not one the gateway forwards \(it forwards application_name, client_encoding/);
  });
});

describe('parseOptions', () => {
  it('reads settings as the server does, and the first word that is not one', () => {
    expect(parseOptions('-c a=b\\\\c -cx=1 --y-z=2 -c q=\\ r')).toEqual({
      settings: [
        { name: 'a', value: 'b\\c' },
        { name: 'x', value: '1' },
        { name: 'y-z', value: '2' },
        { name: 'q', value: ' r' },
      ],
      unsupported: null,
    });
    expect(parseOptions('-c a=1 -e -c b=2').unsupported).toBe('-e');
    // Only ASCII whitespace separates words, as in the server.
    expect(parseOptions('-c application_name=a\u00a0b').settings).toEqual([{ name: 'application_name', value: 'a\u00a0b' }]);
  });
});
