import { describe, expect, it } from 'vitest';
import type { ResourcePlan, ResourceSnapshot } from '../store/repositories/resources.js';
import { parseResourceFile } from './resource-file.js';
import { planApply, planDelete } from './resource-plan.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMhfPMI6eT4mgODEGFjSl7EVeVxeUMk41VIg1oGPCily alice@laptop';
const now = new Date('2026-06-01T00:00:00Z');
const actor = 'os:admin@host';
const empty: ResourceSnapshot = { revision: 0, targets: [], roles: [], identities: [], sshKeys: [] };

const BASE = `
kind: role
name: ops
spec: {targets: {env: prod}, logins: [deploy]}
---
kind: role
name: dba
spec: {targets: {protocol: postgres}, dbUsers: [app_ro]}
---
kind: identity
name: alice
spec: {roles: [ops], sshKeys: ["${KEY_A}"]}
---
kind: identity
name: ci
spec: {kind: bot, owner: alice, roles: [ops]}
`;

/** What the store would hold after applying a plan on a snapshot. */
function applied(snapshot: ResourceSnapshot, plan: ResourcePlan): ResourceSnapshot {
  const upserted = plan.upsertIdentities.map((u) => u.identity);
  const keep = <T extends { name: string }>(rows: T[], deleted: string[], upserts: T[]) => [
    ...rows.filter((r) => !deleted.includes(r.name) && !upserts.some((u) => u.name === r.name)),
    ...upserts,
  ];
  const deletedIdentityNames = snapshot.identities.filter((i) => plan.deleteIdentities.includes(i.id)).map((i) => i.name);
  return {
    revision: snapshot.revision + 1,
    targets: keep(snapshot.targets, plan.deleteTargets, plan.upsertTargets),
    roles: keep(snapshot.roles, plan.deleteRoles, plan.upsertRoles),
    identities: keep(snapshot.identities, deletedIdentityNames, upserted),
    sshKeys: [
      ...snapshot.sshKeys.filter((k) => !plan.deleteIdentities.includes(k.identityId) && !upserted.some((i) => i.id === k.identityId)),
      ...plan.upsertIdentities.flatMap((u) => u.sshKeys),
    ],
  };
}

const docs = (text: string) => parseResourceFile(text, 'res.yaml');

describe('planApply', () => {
  it('creates everything with one event per change and grants for role memberships', () => {
    const { plan, changes } = planApply(empty, docs(BASE), { actor, reason: 'onboarding', now });
    expect(changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'create role/ops',
      'create role/dba',
      'create identity/alice',
      'create identity/ci',
    ]);
    expect(plan.events.map((e) => e.type)).toEqual([
      'resource.create',
      'resource.create',
      'resource.create',
      'permission.grant',
      'resource.create',
      'permission.grant',
    ]);
    expect(plan.events.every((e) => e.actor === actor && e.data?.reason === 'onboarding')).toBe(true);
    expect(plan.upsertIdentities[0]!.sshKeys[0]!.fingerprint).toMatch(/^SHA256:/);
  });

  it('reports unchanged resources and diffs the changed fields', () => {
    const state = applied(empty, planApply(empty, docs(BASE), { actor, now }).plan);
    const changed = BASE.replace('logins: [deploy]', 'logins: [deploy, root]').replace('roles: [ops], sshKeys', 'roles: [ops, dba], sshKeys');
    const { plan, changes } = planApply(state, docs(changed), { actor, now });
    expect(changes.filter((c) => c.action !== 'unchanged').map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'update role/ops',
      'update identity/alice',
    ]);
    const update = plan.events.find((e) => e.type === 'resource.update' && e.data?.name === 'ops')!;
    expect(update.data!.changes).toEqual([{ path: 'spec.logins', before: ['deploy'], after: ['deploy', 'root'] }]);
    expect(plan.events.filter((e) => e.type === 'permission.grant').map((e) => [e.identity, e.data!.role])).toEqual([['alice', 'dba']]);
    expect(plan.baseRevision).toBe(1);
  });

  it('keeps an identity id and SCRAM salt across updates', () => {
    const first = planApply(empty, docs(BASE), { actor, now }).plan;
    const state = applied(empty, first);
    const second = planApply(state, docs(BASE.replace('roles: [ops], sshKeys', 'roles: [], sshKeys')), { actor, now }).plan;
    const before = first.upsertIdentities.find((u) => u.identity.name === 'alice')!.identity;
    const after = second.upsertIdentities.find((u) => u.identity.name === 'alice')!.identity;
    expect(after.id).toBe(before.id);
    expect(after.scramSalt).toBe(before.scramSalt);
    expect(second.events.filter((e) => e.type === 'permission.revoke').map((e) => e.data!.role)).toEqual(['ops']);
  });

  it('refuses a role that does not exist, naming the document', () => {
    expect(() => planApply(empty, docs(BASE.replace('roles: [ops], sshKeys', 'roles: [nope], sshKeys')), { actor, now })).toThrow(
      /res\.yaml: document 3: identity "alice": role "nope" does not exist/,
    );
  });

  it('refuses a bot whose owner is missing or a bot', () => {
    expect(() => planApply(empty, docs(BASE.replace('owner: alice', 'owner: bob')), { actor, now })).toThrow(
      /document 4: bot "ci": owner "bob" is not an existing identity/,
    );
    const botOwner = `${BASE}\n---\nkind: identity\nname: ci2\nspec: {kind: bot, owner: ci}\n`;
    expect(() => planApply(empty, docs(botOwner), { actor, now })).toThrow(/bot "ci2": owner "ci" is a bot; owners are humans/);
  });

  it('refuses one SSH key on two identities', () => {
    const twice = `${BASE}\n---\nkind: identity\nname: bob\nspec: {sshKeys: ["${KEY_A}"]}\n`;
    expect(() => planApply(empty, docs(twice), { actor, now })).toThrow(/SSH key SHA256:\S+ already belongs to identity "alice"/);
  });

  it('prunes resources of the applied kinds only, and refuses to prune what is still referenced', () => {
    const state = applied(empty, planApply(empty, docs(BASE), { actor, now }).plan);
    const onlyRoles = 'kind: role\nname: ops\nspec: {targets: {env: prod}, logins: [deploy]}\n';
    const { changes } = planApply(state, docs(onlyRoles), { actor, now, prune: true });
    expect(changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual(['unchanged role/ops', 'delete role/dba']);
    const withoutOps = 'kind: role\nname: dba\nspec: {targets: {protocol: postgres}, dbUsers: [app_ro]}\n';
    expect(() => planApply(state, docs(withoutOps), { actor, now, prune: true })).toThrow(/role "ops" is still used by identity "alice"/);
  });
});

describe('planDelete', () => {
  it('deletes an identity with revocation events, and refuses an owner of bots', () => {
    const state = applied(empty, planApply(empty, docs(BASE), { actor, now }).plan);
    const { plan } = planDelete(state, 'identity', 'ci', { actor, reason: 'decommissioned', now });
    expect(plan.deleteIdentities).toHaveLength(1);
    expect(plan.events.map((e) => e.type)).toEqual(['resource.delete', 'permission.revoke', 'credential.revoke']);
    expect(() => planDelete(state, 'identity', 'alice', { actor, now })).toThrow(/identity "alice" still owns bot "ci"/);
    expect(() => planDelete(state, 'target', 'nope', { actor, now })).toThrow(/no target named "nope"/);
  });

  it('checks that the approver roles of a role requiring approval exist, and keeps them from being deleted', () => {
    const gated = `${BASE}
---
kind: role
name: root-jit
spec: {targets: {env: prod}, logins: [root], requireApproval: {approvers: [leads]}}
`;
    expect(() => planApply(empty, docs(gated), { actor, now })).toThrow('res.yaml: document 5: role "root-jit": approver role "leads" does not exist');
    const withLeads = `${gated}
---
kind: role
name: leads
spec: {}
`;
    const state = applied(empty, planApply(empty, docs(withLeads), { actor, now }).plan);
    expect(() => planDelete(state, 'role', 'leads', { actor, now })).toThrow('role "leads" still approves requests for role "root-jit"');
  });
});
