import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

function tempCwd(): string {
  return mkdtempSync(join(tmpdir(), 'custos-config-'));
}

describe('loadConfig', () => {
  it('runs on built-in defaults with nothing configured', () => {
    const cwd = tempCwd();
    const config = loadConfig({ cwd, env: {} });
    expect(config.source).toBe('built-in defaults');
    expect(config.dataDir).toBe(join(cwd, 'custos-data'));
    expect(config.store.url).toBe(`pglite://${join(cwd, 'custos-data', 'store')}`);
    expect(config.listen).toEqual({ ssh: '127.0.0.1:2222', postgres: '127.0.0.1:6432', kubernetes: '127.0.0.1:8443', web: '127.0.0.1:8080' });
    expect(config.tls.generated).toBe(true);
    expect(config.admin.socket).toBe(join(cwd, 'custos-data', 'admin.sock'));
  });

  it('reads ./custos.yaml, and paths in it follow dataDir', () => {
    const cwd = tempCwd();
    writeFileSync(join(cwd, 'custos.yaml'), 'dataDir: /srv/custos\nlisten:\n  ssh: 0.0.0.0:22\n  kubernetes: "off"\n');
    const config = loadConfig({ cwd, env: {} });
    expect(config.source).toBe(join(cwd, 'custos.yaml'));
    expect(config.listen.ssh).toBe('0.0.0.0:22');
    expect(config.listen.kubernetes).toBeNull();
    expect(config.recordings.dir).toBe('/srv/custos/recordings');
  });

  it('lets CUSTOS_* variables win over the file, and $CUSTOS_CONFIG choose it', () => {
    const cwd = tempCwd();
    writeFileSync(join(cwd, 'other.yaml'), 'listen:\n  web: 127.0.0.1:9000\npostgres:\n  allowPlaintext: false\n');
    const config = loadConfig({
      cwd,
      env: { CUSTOS_CONFIG: 'other.yaml', CUSTOS_LISTEN_WEB: '127.0.0.1:9100', CUSTOS_POSTGRES_ALLOW_PLAINTEXT: 'true', CUSTOS_STORE_URL: 'postgres://u:p@db/custos' },
    });
    expect(config.listen.web).toBe('127.0.0.1:9100');
    expect(config.postgres.allowPlaintext).toBe(true);
    expect(config.store.url).toBe('postgres://u:p@db/custos');
  });

  it('names an unknown setting and the file it is in', () => {
    const cwd = tempCwd();
    writeFileSync(join(cwd, 'custos.yaml'), 'listen:\n  sshh: 127.0.0.1:22\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/custos\.yaml: listen: unknown setting "sshh"/);
  });

  it('refuses a bad address and a missing explicit file', () => {
    const cwd = tempCwd();
    expect(() => loadConfig({ cwd, env: { CUSTOS_LISTEN_SSH: 'nowhere' } })).toThrow(/listen\.ssh: expected host:port/);
    expect(() => loadConfig({ cwd, env: {}, file: 'missing.yaml' })).toThrow(/does not exist/);
  });

  it('sizes the embedded store from store.pglite.* and CUSTOS_STORE_PGLITE_*, carried in the store URL', () => {
    const cwd = tempCwd();
    writeFileSync(join(cwd, 'custos.yaml'), 'store:\n  pglite:\n    sharedBuffers: 32MB\n    optimizingCompiler: true\n');
    const config = loadConfig({ cwd, env: { CUSTOS_STORE_PGLITE_WORK_MEM: '2MB' } });
    expect(config.store.url).toBe(`pglite://${join(cwd, 'custos-data', 'store')}?sharedBuffers=32MB&workMem=2MB&optimizingCompiler=true`);
  });

  it('refuses a size PostgreSQL would not read, and store.pglite with a PostgreSQL store', () => {
    const cwd = tempCwd();
    expect(() => loadConfig({ cwd, env: { CUSTOS_STORE_PGLITE_SHARED_BUFFERS: '16mb' } })).toThrow(/store\.pglite\.sharedBuffers: expected a size such as 16MB/);
    expect(() => loadConfig({ cwd, env: { CUSTOS_STORE_URL: 'postgres://db/custos', CUSTOS_STORE_PGLITE_SHARED_BUFFERS: '16MB' } })).toThrow(
      /store\.pglite: applies to the embedded store only/,
    );
  });
});
