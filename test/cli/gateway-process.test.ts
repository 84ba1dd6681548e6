import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareGatewayFiles, spawnGateway, type ChildGateway, type TestGatewayFiles } from '../helpers/gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';

describe('custos start on a fresh data dir', () => {
  let files: TestGatewayFiles;
  let gateway: ChildGateway;
  let startedIn: number;
  const temp = makeTempDir('cfresh-');

  beforeAll(async () => {
    // No store template: the real first start, initialising the embedded store.
    files = await prepareGatewayFiles({ dataDir: join(temp.path, 'data') });
    const started = Date.now();
    gateway = await spawnGateway(files);
    startedIn = Date.now() - started;
  });
  afterAll(async () => {
    await gateway?.kill().catch(() => undefined);
    temp.remove();
  });

  it('answers /healthz with version and store status', async () => {
    const response = await fetch(`http://${gateway.addresses.web}/healthz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), store: { ok: true, kind: 'pglite' } });
    expect(startedIn).toBeGreaterThan(0);
  });

  it('serves Prometheus metrics', async () => {
    const response = await fetch(`http://${gateway.addresses.web}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE custos_audit_events_total counter$/m);
    expect(text).toMatch(/^custos_audit_events_total [1-9]\d*$/m);
    expect(text).toMatch(/^custos_process_resident_memory_bytes \d+$/m);
    for (const family of ['custos_connections_total', 'custos_sessions_total', 'custos_sessions_active', 'custos_errors_total']) {
      expect(text).toContain(`# TYPE ${family} `);
    }
  });

  it('generated its SSH host key and TLS material, private keys readable by the owner only', () => {
    for (const file of ['ssh_host_ed25519_key', 'tls/server.key']) {
      expect(statSync(join(files.dataDir, file)).mode & 0o077).toBe(0);
    }
    for (const file of ['ssh_host_ed25519_key.pub', 'tls/server.crt', 'tls/ca.crt']) expect(statSync(join(files.dataDir, file)).size).toBeGreaterThan(0);
    expect(statSync(join(files.dataDir, 'admin.sock')).mode & 0o077).toBe(0);
  });

  it('shuts down cleanly on SIGTERM and records start and stop', async () => {
    expect(await gateway.stop()).toBe(0);
    const audit = await files.cli(['audit', 'ls', '--format', 'json']);
    expect(audit.code).toBe(0);
    const types = audit.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types).toEqual(['gateway.start', 'gateway.stop']);
  });
});
