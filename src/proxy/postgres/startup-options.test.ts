import { describe, expect, it } from 'vitest';
import { extractCustomOptions, readClientRequest } from './startup-options.js';

const request = (entries: Array<[string, string]>) => readClientRequest(new Map(entries));

describe('readClientRequest', () => {
  it('reads the identity and target, and forwards the rest in order', () => {
    expect(request([['user', 'alice'], ['database', 'orders'], ['application_name', 'psql'], ['client_encoding', 'LATIN1'], ['DateStyle', 'ISO, DMY']])).toEqual({
      identity: 'alice',
      target: 'orders',
      dbUser: null,
      forward: [['application_name', 'psql'], ['client_encoding', 'LATIN1'], ['DateStyle', 'ISO, DMY']],
      unsupportedProtocolOptions: [],
    });
  });

  it('takes the database user from user=identity/dbuser', () => {
    expect(request([['user', 'alice/app_ro'], ['database', 'orders']])).toMatchObject({ identity: 'alice', dbUser: 'app_ro' });
  });

  it('takes the database user from options=-c custos.db_user=…, and forwards the other options', () => {
    const result = request([['user', 'alice'], ['database', 'orders'], ['options', '-c search_path=a\\ b -c custos.db_user=app_ro --work_mem=64MB']]);
    expect(result.dbUser).toBe('app_ro');
    expect(result.forward).toEqual([['options', '-c search_path=a\\ b --work_mem=64MB']]);
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
});

describe('extractCustomOptions', () => {
  it('keeps escaping intact', () => {
    expect(extractCustomOptions('-c a=b\\\\c -c custos.x=1')).toEqual({ rest: '-c a=b\\\\c', settings: new Map([['custos.x', '1']]) });
  });
});
