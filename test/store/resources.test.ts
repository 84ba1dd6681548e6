import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runOperation } from '../../src/admin/operations.js';
import { loadConfig } from '../../src/core/config.js';
import { clientProof, verifyClientProof } from '../../src/core/scram.js';
import { AccessControl } from '../../src/policy/access-control.js';
import { sshFingerprint } from '../../src/policy/ssh-keys.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, openBackend, stopSharedPostgres, type StoreBackend } from '../helpers/store-backends.js';

afterAll(() => stopSharedPostgres());

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMhfPMI6eT4mgODEGFjSl7EVeVxeUMk41VIg1oGPCily alice@laptop';
const RESOURCES = `
kind: role
name: ops
spec: {targets: {env: prod}, logins: [deploy], dbUsers: [app_ro]}
---
kind: identity
name: alice
spec: {roles: [ops], sshKeys: ["${KEY}"]}
---
kind: target
name: orders
spec: {protocol: postgres, address: "127.0.0.1:5432", labels: {env: prod}, credentials: {password: "env:ORDERS_PASSWORD"}}
`;

const config = loadConfig({ env: {}, cwd: '/tmp' });
const op = (store: Store, name: string, args: Record<string, unknown>, actor = 'os:admin@host') =>
  runOperation({ store, actor, config }, name, args);

describe.each(BACKENDS)('resources and tokens on %s', (kind) => {
  let backend: StoreBackend;
  beforeEach(async () => {
    backend = await openBackend(kind);
    await op(backend.store, 'apply', { files: [{ source: 'r.yaml', text: RESOURCES }], reason: 'setup' });
  });
  afterEach(() => backend.close());

  it('applies in one transaction and reads back what was declared', async () => {
    const identities = (await op(backend.store, 'get', { kind: 'identity' })) as Array<{ name: string; spec: { roles: string[] } }>;
    expect(identities.map((i) => [i.name, i.spec.roles])).toEqual([['alice', ['ops']]]);
    const target = (await op(backend.store, 'get', { kind: 'target', name: 'orders' })) as Array<{ spec: Record<string, unknown> }>;
    expect(target[0]!.spec).toMatchObject({ protocol: 'postgres', credentials: { password: 'env:ORDERS_PASSWORD' } });
  });

  it('applies nothing when one document is invalid', async () => {
    const bad = `${RESOURCES}\n---\nkind: identity\nname: bob\nspec: {roles: [missing]}\n`.replace('logins: [deploy]', 'logins: [deploy, root]');
    await expect(op(backend.store, 'apply', { files: [{ source: 'r.yaml', text: bad }] })).rejects.toThrow(/document 4: identity "bob": role "missing" does not exist/);
    const roles = (await op(backend.store, 'get', { kind: 'role', name: 'ops' })) as Array<{ spec: { logins: string[] } }>;
    expect(roles[0]!.spec.logins).toEqual(['deploy']);
    expect((await backend.store.audit.list({ typePrefix: 'resource.' })).length).toBe(3);
  });

  it('resolves an identity from its SSH key', async () => {
    const access = new AccessControl(backend.store, async () => undefined);
    const blob = Buffer.from(KEY.split(' ')[1]!, 'base64');
    const resolved = await access.identityForSshKey({ algo: 'ssh-ed25519', data: blob });
    expect(resolved).toMatchObject({ identity: { name: 'alice', kind: 'human' }, credential: { id: `ssh-key:${sshFingerprint(blob)}` } });
    expect(await access.identityForSshKey({ algo: 'ssh-ed25519', data: Buffer.from('other') })).toBeNull();
  });

  it('stores tokens only as a hash and a SCRAM verifier that proves the token', async () => {
    const created = (await op(backend.store, 'token.create', { identity: 'alice', ttl: '1h' })) as { id: string; token: string };
    expect(created.token).toMatch(/^cus_[A-Za-z0-9_-]{43}$/);
    const access = new AccessControl(backend.store, async () => undefined);
    expect((await access.identityForToken(created.token)).identity.name).toBe('alice');
    await expect(access.identityForToken(`${created.token}x`)).rejects.toThrow(/unknown token/);

    const candidates = (await access.scramCandidates('alice'))!;
    const authMessage = 'n=alice,r=abc,r=abcdef,s=salt,i=4096,c=biws,r=abcdef';
    const { proof } = clientProof(created.token, candidates.salt, candidates.iterations, authMessage);
    expect(candidates.verifiers.some((v) => verifyClientProof(v.storedKey, authMessage, proof))).toBe(true);

    const listed = (await op(backend.store, 'token.list', {})) as Array<Record<string, unknown>>;
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(Object.keys(listed[0]!)).not.toContain('tokenHash');

    await op(backend.store, 'token.revoke', { id: created.id, reason: 'laptop lost' });
    await expect(access.identityForToken(created.token)).rejects.toThrow(/was revoked/);
    expect((await access.scramCandidates('alice'))!.verifiers).toHaveLength(0);
    const events = await backend.store.audit.list({ typePrefix: 'token.' });
    expect(events.map((e) => [e.type, e.identity, e.actor])).toEqual([
      ['token.create', 'alice', 'os:admin@host'],
      ['token.revoke', 'alice', 'os:admin@host'],
    ]);
    expect(JSON.stringify(events)).not.toContain(created.token);
  });

  it('refuses an expired token', async () => {
    const created = (await op(backend.store, 'token.create', { identity: 'alice', ttl: '1s' })) as { token: string };
    const later = new AccessControl(backend.store, async () => undefined, () => new Date(Date.now() + 5_000));
    await expect(later.identityForToken(created.token)).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('revokes tokens and frees SSH keys when an identity is deleted', async () => {
    const created = (await op(backend.store, 'token.create', { identity: 'alice' })) as { token: string };
    await expect(op(backend.store, 'delete', { kind: 'identity', name: 'alice' })).resolves.toBeTruthy();
    const access = new AccessControl(backend.store, async () => undefined);
    await expect(access.identityForToken(created.token)).rejects.toThrow();
    expect(await access.identityForSshKey({ algo: 'ssh-ed25519', data: Buffer.from(KEY.split(' ')[1]!, 'base64') })).toBeNull();
  });
});

describe('concurrent applies from two gateways sharing PostgreSQL', () => {
  it('retries a change planned on a stale snapshot instead of losing one', async () => {
    const backend = await openBackend('postgres');
    try {
      const other = await backend.openAnother();
      await op(backend.store, 'apply', { files: [{ source: 'r.yaml', text: RESOURCES }] });
      const roleFile = (name: string) => `kind: role\nname: ${name}\nspec: {targets: {env: prod}, logins: [${name}]}\n`;
      await Promise.all(
        Array.from({ length: 4 }, (_, i) => op(i % 2 ? other : backend.store, 'apply', { files: [{ source: `r${i}.yaml`, text: roleFile(`extra${i}`) }] })),
      );
      const roles = (await op(backend.store, 'get', { kind: 'role' })) as Array<{ name: string }>;
      expect(roles.map((r) => r.name).sort()).toEqual(['extra0', 'extra1', 'extra2', 'extra3', 'ops']);
    } finally {
      await backend.close();
    }
  });
});
