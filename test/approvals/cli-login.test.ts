import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyResources, GATED_DB_RESOURCES, tokenFor, webBase } from '../helpers/approvals.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/**
 * `custos login` keeps an identity's token (mode 0600) so request commands act as that
 * identity over the web API from any machine; the API's bearer path needs no cookie and no
 * CSRF token, and refuses cross-site requests and bad tokens.
 */
let tg: TestGateway;
let token: string;
const home = makeTempDir('cxdg-');
beforeAll(async () => {
  tg = await startTestGateway();
  await applyResources(tg, GATED_DB_RESOURCES);
  token = await tokenFor(tg, 'asker');
});
afterAll(async () => {
  await tg?.stop();
  home.remove();
});

const cli = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  tg.cli(args, { ...options, env: { XDG_CONFIG_HOME: home.path, CUSTOS_TOKEN: '', CUSTOS_GATEWAY: '', ...options.env } });

describe('custos login and the bearer API', () => {
  it('refuses a wrong token and keeps nothing', async () => {
    const failed = await cli(['login', '--gateway', webBase(tg)], { input: 'cus_wrong\n' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('the bearer token is unknown, expired or revoked');
    expect(() => statSync(join(home.path, 'custos', 'credentials.json'))).toThrow();
  });

  it('stores the token read from standard input with mode 0600, and request commands then act as that identity', async () => {
    const login = await cli(['login', '--gateway', webBase(tg)], { input: `${token}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('as asker (human)');
    const path = join(home.path, 'custos', 'credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home.path, 'custos')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ gateway: webBase(tg), identity: 'asker', token });

    const created = await cli(['request', 'create', '--target', 'db', '--reason', 'stored login']);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const shown = await cli(['request', 'show', id]);
    expect(shown.stdout).toMatch(/asked by\s+asker/);
    // Without a token the command runs as the OS user on the gateway host: it may list, not ask.
    const asAdmin = await tg.cli(['request', 'ls'], { env: { XDG_CONFIG_HOME: makeTempDir('cxdg-').path, CUSTOS_TOKEN: '' } });
    expect(asAdmin.stdout).toContain(id);
    const refused = await tg.cli(['request', 'create', '--target', 'db', '--reason', 'as root'], { env: { XDG_CONFIG_HOME: makeTempDir('cxdg-').path, CUSTOS_TOKEN: '' } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('you act as an identity');
  });

  it('serves a bearer POST without a CSRF token, refuses it cross-site, and records refused tokens', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${webBase(tg)}/api/requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ target: 'db', reason: 'bearer' }),
      });
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(201);
    expect((await post({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ authorization: 'Bearer cus_nope' })).status).toBe(401);
    // A cookie-less request without a bearer token is not signed in.
    expect((await post({})).status).toBe(401);
    const failure = (await tg.gateway.store.audit.list({ type: 'auth.failure' })).at(-1);
    expect(failure?.data).toMatchObject({ protocol: 'web', reason: 'bearer token refused: unknown token' });
    // The bearer identity reads no viewer route that needs a cookie session.
    expect((await fetch(`${webBase(tg)}/api/sessions`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});
