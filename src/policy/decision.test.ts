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

describe('decide: Kubernetes requests', () => {
  const target: TargetRef = { name: 'k8s-prod', protocol: 'kubernetes', labels: { env: 'prod' } };
  const readOnly = role('viewers', {
    targets: { env: 'prod' },
    kubeGroups: ['view'],
    kubeRules: [{ verbs: ['get', 'list', 'watch'], resources: ['*'], namespaces: ['*'] }],
  });
  const prodOps = role('prod-ops', {
    targets: { env: 'prod' },
    kubeUsers: ['ops-bot'],
    kubeGroups: ['ops'],
    maxSessionTTL: '1h',
    kubeRules: [
      { verbs: ['*'], resources: ['pods', 'pods/exec', 'pods/log', 'pods/portforward'], namespaces: ['prod'] },
      { verbs: ['get', 'update'], resources: ['*/scale'], namespaces: ['prod'], apiGroups: ['apps'] },
    ],
  });
  const forwarding = role('forwarders', { targets: { env: 'prod' }, kubeGroups: ['fwd'], portForwarding: true });
  const unrestricted = role('cluster-admin', { targets: { env: 'prod' }, kubeGroups: ['system:masters'] });
  const request = (fields: Omit<Action & { kind: 'kubernetes.request' }, 'kind'>): Action => ({ kind: 'kubernetes.request', ...fields });
  const pod = (verb: string, subresource = '', namespace = 'prod') => request({ verb, apiGroup: '', resource: 'pods', subresource, namespace, name: 'web-0' });

  const cases: Array<[string, Role[], Action, Record<string, unknown>]> = [
    ['the API session: any role with kube users or groups', [readOnly], request({}), { allow: true, kubeUsers: ['custos:alice'], kubeGroups: ['view'] }],
    ['read-only role reads pods', [readOnly], pod('get'), { allow: true, kubeGroups: ['view'] }],
    ['read-only role lists across all namespaces', [readOnly], request({ verb: 'list', apiGroup: '', resource: 'pods', subresource: '', namespace: '', name: '' }), { allow: true }],
    ['read-only role may not exec (create pods/exec)', [readOnly], pod('create', 'exec'), { allow: false }],
    ['read-only role may not attach', [readOnly], pod('create', 'attach'), { allow: false }],
    ['read-only role may not port-forward', [readOnly], pod('create', 'portforward'), { allow: false }],
    ['read-only role may not delete', [readOnly], pod('delete'), { allow: false }],
    ['non-resource requests pass any kube role', [readOnly], request({ verb: 'get', resource: '', path: '/version' }), { allow: true }],
    ['a rule names a subresource', [prodOps], pod('create', 'exec'), { allow: true, kubeUsers: ['ops-bot'], kubeGroups: ['ops'] }],
    ['a subresource is not the resource', [prodOps], pod('get', 'status'), { allow: false }],
    ['the namespace must match', [prodOps], pod('create', 'exec', 'dev'), { allow: false }],
    ['a named namespace does not cover cluster scope', [prodOps], request({ verb: 'list', apiGroup: '', resource: 'pods', subresource: '', namespace: '', name: '' }), { allow: false }],
    ['star-slash-subresource with an API group', [prodOps], request({ verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'prod', name: 'web' }), { allow: true }],
    ['the API group must match', [prodOps], request({ verb: 'update', apiGroup: '', resource: 'replicationcontrollers', subresource: 'scale', namespace: 'prod', name: 'web' }), { allow: false }],
    ['port-forward needs portForwarding as well as the rule', [prodOps], pod('create', 'portforward'), { allow: false }],
    ['port-forward with a forwarding role without rules', [forwarding], pod('create', 'portforward'), { allow: true, portForwarding: true, kubeGroups: ['fwd'] }],
    ['a role without rules leaves it to the cluster', [unrestricted], pod('delete'), { allow: true, kubeGroups: ['system:masters'] }],
    ['impersonation follows the roles that allow the request', [readOnly, prodOps], pod('create', 'exec'), { allow: true, roles: ['prod-ops'], kubeGroups: ['ops'] }],
    ['both roles allow a read: both groups', [readOnly, prodOps], pod('get'), { allow: true, roles: ['viewers', 'prod-ops'], kubeGroups: ['view', 'ops'], kubeUsers: ['ops-bot'] }],
    ['a requested kube user must be listed', [prodOps], { kind: 'kubernetes.request', user: 'root', verb: 'get', apiGroup: '', resource: 'pods', namespace: 'prod', name: 'web-0' }, { allow: false }],
  ];

  it.each(cases)('%s', (_name, roles, action, expected) => {
    expect(decide(input(roles, target, action))).toMatchObject(expected);
  });

  it('explains a refusal with the request, the target and the roles', () => {
    expect(decide(input([readOnly], target, pod('create', 'exec'))).reason).toBe(
      'no role of alice allows create pods/exec "web-0" in namespace "prod" on k8s-prod (kubeRules of viewers)',
    );
    expect(decide(input([prodOps], target, pod('create', 'portforward'))).reason).toBe(
      'port forwarding is not allowed for alice on k8s-prod (no role with portForwarding: true allows it)',
    );
  });

  it('the TTL comes from the roles that allow this request', () => {
    expect(decide(input([readOnly, prodOps], target, pod('create', 'exec'))).expiresAt).toEqual(new Date(now.getTime() + 3_600_000));
    expect(decide(input([readOnly], target, pod('get'))).expiresAt).toEqual(new Date(now.getTime() + 8 * 3_600_000));
  });

  it('rejects malformed rules when a role is declared', () => {
    expect(() => role('bad', { kubeRules: [{ verbs: [], resources: ['*'], namespaces: ['*'] }] })).toThrow();
    expect(() => role('bad', { kubeRules: [{ verbs: ['get'], resources: ['*'], namespaces: ['*'], groups: ['x'] }] })).toThrow();
  });
});
