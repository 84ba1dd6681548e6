import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from './decision.js';
import type { Action, Grant, Identity, Role, TargetRef } from './model.js';
import { roleSpecSchema } from './resource-schemas.js';

const now = new Date('2026-06-01T12:00:00Z');
const alice: Identity = { id: 'idn_alice', name: 'alice', kind: 'human', owner: null, roles: ['ops', 'dba'] };

function role(name: string, spec: Record<string, unknown>): Role {
  return { name, spec: roleSpecSchema.parse(spec) };
}

const ops = role('ops', { targets: { env: 'prod' }, logins: ['deploy', 'root'], maxSessionTTL: '8h', portForwarding: true });
const readonly = role('readonly', { targets: { env: ['prod', 'staging'] }, logins: ['viewer'], maxSessionTTL: '1h', recordInput: true });
const dba = role('dba', { targets: { protocol: 'postgres' }, dbUsers: ['app_ro', 'app_rw'], maxSessionTTL: '2h' });
const everything = role('admin', { targets: { '*': '*' }, logins: ['root'], dbUsers: ['postgres'], kubeGroups: ['system:masters'] });
const kube = role('kube', { targets: { name: 'k8s-*' }, kubeUsers: ['alice'], kubeGroups: ['dev'] });

const web1: TargetRef = { name: 'web1', protocol: 'ssh', labels: { env: 'prod' } };
const web2: TargetRef = { name: 'web2', protocol: 'ssh', labels: { env: 'staging' } };
const orders: TargetRef = { name: 'orders', protocol: 'postgres', labels: { env: 'prod' } };
const cluster: TargetRef = { name: 'k8s-prod', protocol: 'kubernetes', labels: {} };

function input(roles: Role[], target: TargetRef, action: Action, grants: Grant[] = []): DecisionInput {
  return { identity: alice, roles, target, action, grants, now };
}

describe('decide', () => {
  const cases: Array<[string, DecisionInput, Record<string, unknown>]> = [
    ['explicit allowed login', input([ops], web1, { kind: 'ssh.session', login: 'root' }), { allow: true, login: 'root', roles: ['ops'] }],
    ['default login is the first of the first matching role', input([ops, readonly], web1, { kind: 'ssh.session' }), { allow: true, login: 'deploy' }],
    ['login not in any matching role', input([ops], web1, { kind: 'ssh.session', login: 'postgres' }), { allow: false }],
    ['no role matches the target labels', input([ops], web2, { kind: 'ssh.session', login: 'deploy' }), { allow: false }],
    ['list selector matches', input([readonly], web2, { kind: 'ssh.session' }), { allow: true, login: 'viewer', recordInput: true }],
    ['wildcard role matches anything', input([everything], web2, { kind: 'ssh.session' }), { allow: true, login: 'root' }],
    ['protocol mismatch is refused', input([everything], orders, { kind: 'ssh.session' }), { allow: false }],
    ['db user chosen', input([dba], orders, { kind: 'postgres.connect', dbUser: 'app_rw' }), { allow: true, dbUser: 'app_rw' }],
    ['default db user', input([dba], orders, { kind: 'postgres.connect' }), { allow: true, dbUser: 'app_ro' }],
    ['db user not allowed', input([dba], orders, { kind: 'postgres.connect', dbUser: 'postgres' }), { allow: false }],
    ['role without db users gives no postgres access', input([ops], orders, { kind: 'postgres.connect' }), { allow: false }],
    ['port forward with a forwarding role', input([ops], web1, { kind: 'ssh.port-forward', login: 'deploy', host: 'db', port: 5432 }), { allow: true, portForwarding: true }],
    ['port forward without one', input([readonly], web1, { kind: 'ssh.port-forward', login: 'viewer', host: 'db', port: 5432 }), { allow: false }],
    ['kubernetes groups from glob-selected role', input([kube], cluster, { kind: 'kubernetes.request' }), { allow: true, kubeUsers: ['alice'], kubeGroups: ['dev'] }],
    ['no roles at all', input([], web1, { kind: 'ssh.session' }), { allow: false }],
  ];

  it.each(cases)('%s', (_name, given, expected) => {
    expect(decide(given)).toMatchObject(expected);
  });

  it('every decision says it records, and a denial gives a readable reason', () => {
    const denied = decide(input([ops], web1, { kind: 'ssh.session', login: 'postgres' }));
    expect(denied.record).toBe(true);
    expect(denied.reason).toBe('login "postgres" is not allowed on this target (allowed: deploy, root)');
    expect(decide(input([ops], web2, { kind: 'ssh.session' })).reason).toBe('no role of alice grants access to target web2');
  });

  it('ends the session at the smallest TTL among the allowing roles', () => {
    const both = [role('a', { targets: { env: 'prod' }, logins: ['deploy'], maxSessionTTL: '8h' }), role('b', { targets: { env: 'prod' }, logins: ['deploy'], maxSessionTTL: '30m' })];
    expect(decide(input(both, web1, { kind: 'ssh.session', login: 'deploy' })).expiresAt).toEqual(new Date(now.getTime() + 30 * 60_000));
    // A role that does not allow the chosen login does not shorten the session.
    expect(decide(input([ops, readonly], web1, { kind: 'ssh.session', login: 'deploy' })).expiresAt).toEqual(new Date(now.getTime() + 8 * 3_600_000));
  });

  it('allows through an active grant, with its ticket, capped at the grant expiry', () => {
    const grant: Grant = { id: 'grt_1', role: ops, ticket: 'CHG-42', expiresAt: new Date(now.getTime() + 3_600_000) };
    const decision = decide(input([], web1, { kind: 'ssh.session', login: 'root' }, [grant]));
    expect(decision).toMatchObject({ allow: true, login: 'root', grant: { id: 'grt_1', ticket: 'CHG-42' } });
    expect(decision.expiresAt).toEqual(grant.expiresAt);
  });

  it('ignores an expired grant', () => {
    const grant: Grant = { id: 'grt_2', role: ops, ticket: 'CHG-1', expiresAt: new Date(now.getTime() - 1) };
    expect(decide(input([], web1, { kind: 'ssh.session' }, [grant])).allow).toBe(false);
  });

  it('prefers a standing role over a grant when both allow', () => {
    const grant: Grant = { id: 'grt_3', role: ops, ticket: 'CHG-7', expiresAt: new Date(now.getTime() + 60_000) };
    const decision = decide(input([ops], web1, { kind: 'ssh.session', login: 'root' }, [grant]));
    expect(decision.grant).toBeUndefined();
    expect(decision.roles).toEqual(['ops']);
  });

  describe('roles that require approval', () => {
    const gated = role('prod-root', {
      targets: { env: 'prod' },
      logins: ['root'],
      dbUsers: ['app_rw'],
      maxSessionTTL: '8h',
      requireApproval: { approvers: ['approvers'], ticket: 'required', ticketPattern: '^CHG-[0-9]+$' },
    });
    const bot: Identity = { id: 'idn_bot', name: 'deploy-bot', kind: 'bot', owner: 'alice', roles: ['prod-root'] };
    const grantFor = (fields: Partial<Grant> = {}): Grant => ({
      id: 'grt_9',
      request: 'req_9',
      role: gated,
      ticket: 'CHG-9',
      target: 'web1',
      logins: ['root'],
      approvers: ['bob'],
      expiresAt: new Date(now.getTime() + 3_600_000),
      ...fields,
    });
    const ssh = (login?: string): Action => ({ kind: 'ssh.session', ...(login ? { login } : {}) });
    const table: Array<[string, DecisionInput, Record<string, unknown>]> = [
      ['without a grant: denied', input([gated], web1, ssh('root')), { allow: false }],
      ['with a grant for that target and login: allowed, tagged', input([gated], web1, ssh('root'), [grantFor()]), { allow: true, login: 'root', grant: { id: 'grt_9', request: 'req_9', ticket: 'CHG-9', approvers: ['bob'] } }],
      ['the grant is for another target', input([gated], web1, ssh('root'), [grantFor({ target: 'web9' })]), { allow: false }],
      ['the grant is for another login', input([role('wide', { ...gated.spec, logins: ['root', 'deploy'] })], web1, ssh('deploy'), [grantFor({ role: role('wide', { ...gated.spec, logins: ['root', 'deploy'] }) })]), { allow: false }],
      ['the grant has not started', input([gated], web1, ssh('root'), [grantFor({ startsAt: new Date(now.getTime() + 60_000) })]), { allow: false }],
      ['the grant has ended', input([gated], web1, ssh('root'), [grantFor({ expiresAt: now })]), { allow: false }],
      ['default login through a grant', input([gated], web1, ssh(), [grantFor()]), { allow: true, login: 'root' }],
      ['a standing role still allows its own logins', input([ops, gated], web1, ssh('deploy')), { allow: true, login: 'deploy', roles: ['ops'] }],
      ['a database user through a grant', input([gated], orders, { kind: 'postgres.connect', dbUser: 'app_rw' }, [grantFor({ target: 'orders', logins: undefined, dbUsers: ['app_rw'] })]), { allow: true, dbUser: 'app_rw' }],
      ['a bot whose owner is gone is refused even with a grant', { ...input([gated], web1, ssh('root'), [grantFor()]), identity: bot, ownerPresent: false }, { allow: false }],
      ['a bot whose owner exists goes through its grant', { ...input([gated], web1, ssh('root'), [grantFor()]), identity: bot, ownerPresent: true }, { allow: true }],
    ];
    it.each(table)('%s', (_name, given, expected) => {
      expect(decide(given)).toMatchObject(expected);
    });

    it('says exactly how to ask when only an approval would allow it', () => {
      expect(decide(input([gated], web1, ssh('root'))).reason).toBe(
        'login root on web1 needs an approved request (role prod-root requires approval); ask for it with: ' +
          'custos request create --target web1 --login root --reason "…" --ticket "…" (a ticket is required, matching ^CHG-[0-9]+$)',
      );
      // Next to a standing role that allows another login; the default login is the standing one.
      expect(decide(input([readonly, gated], web1, ssh('root'))).reason).toContain('custos request create --target web1 --login root');
      expect(decide(input([gated], orders, { kind: 'postgres.connect' })).reason).toContain('custos request create --target orders --db-user app_rw --reason');
      expect(decide({ ...input([gated], web1, ssh('root')), identity: bot, ownerPresent: true }).reason).toContain('--login root --for deploy-bot --reason');
      // A login no role lists at all is not a matter of approval.
      expect(decide(input([gated], web1, ssh('postgres'))).reason).toBe('no role of alice grants access to target web1');
    });

    it('ends a session under a grant at the grant end, before a longer maxSessionTTL', () => {
      const decision = decide(input([gated], web1, ssh('root'), [grantFor({ expiresAt: new Date(now.getTime() + 60_000) })]));
      expect(decision.expiresAt).toEqual(new Date(now.getTime() + 60_000));
      expect(decision.grant?.until).toEqual(new Date(now.getTime() + 60_000));
    });
  });
});
