import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeKeyPair } from '../helpers/ssh-keys.js';

const actor = `os:${userInfo().username}@${hostname()}`;

function resources(dir: string): string {
  const alice = makeKeyPair(dir, 'alice');
  const host = makeKeyPair(dir, 'host');
  return `
kind: role
name: ops
spec:
  targets: { env: prod }
  logins: [deploy]
  maxSessionTTL: 8h
---
kind: identity
name: alice
spec:
  kind: human
  roles: [ops]
  sshKeys: ["${alice.publicLine}"]
---
kind: identity
name: deploy-bot
spec:
  kind: bot
  owner: alice
  roles: [ops]
---
kind: target
name: web1
spec:
  protocol: ssh
  address: 127.0.0.1:22
  labels: { env: prod }
  credentials: { privateKey: "file:/etc/custos/web1_key" }
  hostKey: "${host.publicLine}"
`;
}

describe('CLI commands through the running gateway', () => {
  let tg: TestGateway;
  let file: string;
  let declared: string;

  beforeAll(async () => {
    tg = await startTestGateway();
    file = join(tg.dataDir, 'resources.yaml');
    declared = resources(tg.dataDir);
    writeFileSync(file, declared);
  });
  afterAll(() => tg?.stop());

  it('applies a resources file and shows it in get', async () => {
    const applied = await tg.cli(['apply', '-f', file, '--reason', 'onboarding alice']);
    expect(applied).toMatchObject({ code: 0 });
    expect(applied.stdout).toBe('role/ops created\nidentity/alice created\nidentity/deploy-bot created\ntarget/web1 created\n');
    const identities = await tg.cli(['get', 'identity']);
    expect(identities.stdout).toMatch(/^NAME\s+KIND\s+OWNER\s+ROLES\s+SSH KEYS$/m);
    expect(identities.stdout).toMatch(/^deploy-bot\s+bot\s+alice\s+ops\s+0$/m);
    const target = JSON.parse((await tg.cli(['get', 'target', 'web1', '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
    expect(target.spec).toMatchObject({ protocol: 'ssh', credentials: { privateKey: 'file:/etc/custos/web1_key' } });
  });

  it('prints resources as YAML that applies back unchanged', async () => {
    const yaml = await tg.cli(['get', 'role', '-o', 'yaml']);
    const reapplied = await tg.cli(['apply', '-f', '-'], { input: yaml.stdout });
    expect(reapplied).toMatchObject({ code: 0, stdout: 'role/ops unchanged\n' });
  });

  it('records every change with the established actor, the reason and a diff', async () => {
    writeFileSync(file, declared.replace('logins: [deploy]', 'logins: [deploy, root]'));
    expect((await tg.cli(['apply', '-f', file, '--reason', 'incident 42'])).code).toBe(0);
    const json = await tg.cli(['audit', 'ls', '--type', 'resource.update', '--format', 'json']);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { actor: string; data: Record<string, unknown> });
    const roleUpdate = events.find((e) => e.data.kind === 'role')!;
    expect(roleUpdate.actor).toBe(actor);
    expect(roleUpdate.data).toMatchObject({ reason: 'incident 42', changes: [{ path: 'spec.logins', before: ['deploy'], after: ['deploy', 'root'] }] });
    const table = await tg.cli(['audit', 'ls', '--identity', 'alice']);
    expect(table.stdout).toMatch(/resource\.create\s+os:\S+\s+alice\s+-\s+identity\/alice \(reason: onboarding alice\)/);
    expect(table.stdout).toMatch(/permission\.grant\s+os:\S+\s+alice\s+-\s+role ops/);
  });

  it('refuses an invalid file with exit 2, naming file and document, applying nothing', async () => {
    const bad = join(tg.dataDir, 'bad.yaml');
    writeFileSync(bad, 'kind: role\nname: fine\n---\nkind: identity\nname: bot2\nspec: {kind: bot}\n');
    const result = await tg.cli(['apply', '-f', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad}: document 2: identity "bot2": spec.owner: a bot needs an owner`);
    expect((await tg.cli(['get', 'role', 'fine'])).code).toBe(2);
    const unknownKind = join(tg.dataDir, 'kind.yaml');
    writeFileSync(unknownKind, 'kind: secret\nname: x\n');
    expect(await tg.cli(['apply', '-f', unknownKind])).toMatchObject({ code: 2, stderr: expect.stringContaining('document 1: unknown kind "secret"') });
  });

  it('creates a token printed alone on stdout, lists and revokes it', async () => {
    const created = await tg.cli(['token', 'create', 'deploy-bot', '--ttl', '2h']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^cus_[A-Za-z0-9_-]{43}\n$/);
    const list = await tg.cli(['token', 'ls', '--format', 'json']);
    const [token] = JSON.parse(list.stdout) as Array<{ id: string; identityName: string; createdBy: string }>;
    expect(token).toMatchObject({ identityName: 'deploy-bot', createdBy: actor });
    expect(list.stdout).not.toContain(created.stdout.trim());
    expect((await tg.cli(['token', 'revoke', token!.id])).stdout).toBe(`token ${token!.id} revoked\n`);
    expect(JSON.parse((await tg.cli(['token', 'ls', '--format', 'json'])).stdout)).toEqual([]);
    expect((await tg.cli(['token', 'create', 'nobody'])).code).toBe(2);
  });

  it('deletes, refusing while references remain', async () => {
    const refused = await tg.cli(['delete', 'identity', 'alice']);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('identity "alice" still owns bot "deploy-bot"') });
    expect((await tg.cli(['delete', 'identity', 'deploy-bot', '--reason', 'retired'])).stdout).toBe('identity/deploy-bot deleted\n');
  });

  it('verifies the chain', async () => {
    const result = await tg.cli(['verify']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^audit chain intact: \d+ events/);
  });
});

describe('CLI commands without a running gateway', () => {
  it('opens the embedded store directly', async () => {
    const tg = await startTestGateway();
    await tg.gateway.stop();
    try {
      const file = join(tg.dataDir, 'resources.yaml');
      writeFileSync(file, resources(tg.dataDir));
      expect((await tg.cli(['apply', '-f', file])).code).toBe(0);
      const audit = await tg.cli(['audit', 'ls', '--type', 'resource.create', '--format', 'json']);
      const first = JSON.parse(audit.stdout.split('\n')[0]!) as { actor: string };
      expect(first.actor).toBe(actor);
      expect((await tg.cli(['verify'])).code).toBe(0);
    } finally {
      tg.remove();
    }
  });
});
