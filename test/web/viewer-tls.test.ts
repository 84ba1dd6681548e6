import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createIdentity } from '../helpers/viewer-fixtures.js';

/** Under `web.tls` the viewer is served over HTTPS and its cookie is Secure (`__Host-` prefixed). */
let tg: TestGateway;
let token: string;

beforeAll(async () => {
  tg = await startTestGateway({ settings: { web: { tls: true } } });
  token = (await createIdentity(tg.gateway.store, tg.config, { name: 'tls-user' })).token;
});

afterAll(async () => {
  await tg?.stop();
});

function post(path: string, body: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = tg.address('web');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca: readFileSync(tg.config.tls.ca), headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

it('serves HTTPS with the gateway certificate and sets a Secure __Host- cookie and HSTS', async () => {
  const response = await post('/api/login', { identity: 'tls-user', token });
  expect(response.status).toBe(200);
  const cookie = String(response.headers['set-cookie']);
  expect(cookie).toMatch(/^__Host-custos_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure; Max-Age=\d+$/);
  expect(response.headers['strict-transport-security']).toBe('max-age=31536000');
});
