import { runOperation } from '../../src/admin/operations.js';
import type { TestGateway } from './gateway.js';
import type { SshFixture } from './ssh-fixture.js';
import type { CliResult } from './cli.js';
import { makeTempDir } from './temp-dir.js';

/** The web API base URL of a gateway started by the test helpers. */
export function webBase(gateway: Pick<TestGateway, 'address'>): string {
  const { host, port } = gateway.address('web');
  return `http://${host}:${port}`;
}

export interface IdentityCli {
  /** `custos <args>` run as this identity (CUSTOS_TOKEN) against `gateway`'s web API. */
  cli(args: string[]): Promise<CliResult>;
  /** A JSON call to the API with this identity's bearer token. */
  api<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }>;
  token: string;
}

/**
 * Acting as an identity from "an operator's machine": the real CLI with the identity's token
 * in CUSTOS_TOKEN and the gateway's web API in CUSTOS_GATEWAY (its own empty config home, so
 * no stored login is read), and raw bearer calls to the same API.
 */
export function asIdentity(gateway: Pick<TestGateway, 'address' | 'cli'>, token: string, base = webBase(gateway)): IdentityCli {
  const home = makeTempDir('cxdg-');
  return {
    token,
    cli: (args) => gateway.cli(args, { env: { CUSTOS_TOKEN: token, CUSTOS_GATEWAY: base, XDG_CONFIG_HOME: home.path } }),
    api: async (method, path, body) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as never };
    },
  };
}

/** The request id `custos request create` printed (alone on its first line). */
export function requestIdOf(result: CliResult): string {
  const id = /^(req_[a-z0-9]+)$/m.exec(result.stdout)?.[1];
  if (!id) throw new Error(`no request id in the output (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  return id;
}

/** An admin operation run in the gateway's process as the actor `test`. */
export function adminOp(gateway: Pick<TestGateway, 'gateway' | 'config'>) {
  return (name: string, args: Record<string, unknown>) => runOperation({ store: gateway.gateway.store, actor: 'test', config: gateway.config }, name, args);
}

/** A fresh token (1h) for an identity. */
export async function tokenFor(gateway: Pick<TestGateway, 'gateway' | 'config'>, identity: string): Promise<string> {
  return ((await adminOp(gateway)('token.create', { identity, ttl: '1h' })) as { token: string }).token;
}

/** Applies resources (YAML documents) as the actor `test`. */
export async function applyResources(gateway: Pick<TestGateway, 'gateway' | 'config'>, yaml: string): Promise<void> {
  await adminOp(gateway)('apply', { files: [{ source: 'test.yaml', text: yaml }] });
}

/** An SSH target document on the fixture's sshd (its pinned host key, the upstream key). */
export function sshTargetYaml(f: SshFixture, name: string, labels: Record<string, string>): string {
  return `
kind: target
name: ${name}
spec:
  protocol: ssh
  address: 127.0.0.1:${f.sshd.port}
  labels: ${JSON.stringify(labels)}
  hostKey: ${f.sshd.hostKeyLine}
  credentials: { privateKey: "file:${f.keys.upstream.privatePath}" }
`;
}

/**
 * A database target `db` (never connected to) whose user `app` the role `gated` gives only
 * with approval by holders of `approvers`; `asker` holds `gated`, `boss` holds `approvers`.
 */
export const GATED_DB_RESOURCES = `
kind: target
name: db
spec: { protocol: postgres, address: "127.0.0.1:5432" }
---
kind: role
name: gated
spec: { targets: { name: db }, dbUsers: [app], requireApproval: { approvers: [approvers] } }
---
kind: role
name: approvers
spec: {}
---
kind: identity
name: asker
spec: { kind: human, roles: [gated] }
---
kind: identity
name: boss
spec: { kind: human, roles: [approvers] }
`;
