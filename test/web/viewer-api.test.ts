import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';
import { viewerPlugin } from '../../src/web/viewer-plugin.js';
import {
  appendCastEvents,
  createIdentity,
  endSession,
  recordQueries,
  recordSession,
  signIn,
  type CastEvent,
  type FixtureIdentity,
} from '../helpers/viewer-fixtures.js';

let tg: TestGateway;
let base: string;
let recordingsDir: string;
const people: Record<string, { identity: FixtureIdentity; token: string; cookie: string; csrf: string }> = {};
const ids = {} as Record<'alice1' | 'alice2' | 'bob1' | 'bot1' | 'interrupted', string>;

/** POST /api/login from a chosen loopback source address (the listener stays on 127.0.0.1). */
function signInFrom(localAddress: string, identity: string, token: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const body = JSON.stringify({ identity, token });
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, localAddress, method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function api(who: string, path: string, init: RequestInit = {}): Promise<Response> {
  const person = people[who]!;
  return fetch(`${base}${path}`, { ...init, headers: { cookie: person.cookie, ...(init.headers as Record<string, string>) } });
}

async function json<T = Record<string, unknown>>(who: string, path: string): Promise<T> {
  const response = await api(who, path);
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as T;
}

const shellEvents: CastEvent[] = [
  [0.1, 'o', '$ '],
  [0.5, 'i', 'echo hello\r'],
  [0.6, 'o', 'echo hello\r\nhello\r\n$ '],
  [1.0, 'r', '100x30'],
  [1.5, 'o', 'done\r\n'],
];

beforeAll(async () => {
  tg = await startTestGateway({
    webPlugins: [viewerPlugin({ sessions: { signInLimits: { perAddressAndIdentity: 3, perAddress: 1000 } } })],
  });
  const { host, port } = tg.address('web');
  base = `http://${host}:${port}`;
  recordingsDir = tg.config.recordings.dir;
  const store = tg.gateway.store;
  const make = async (name: string, viewer?: Parameters<typeof createIdentity>[2]['viewer'], extra: { kind?: 'bot'; owner?: string } = {}) => {
    const created = await createIdentity(store, tg.config, { name, ...(viewer ? { viewer } : {}), ...extra });
    people[name] = { ...created, cookie: '', csrf: '' };
  };
  await make('alice'); // default rights: own sessions, own queries, no audit
  await make('bob');
  await make('auditor', { sessions: 'all', queries: 'all', audit: true });
  await make('nobody', { sessions: 'none', queries: 'none', audit: false });
  await make('alice-bot', undefined, { kind: 'bot', owner: 'alice' });
  for (const name of ['alice', 'bob', 'auditor', 'nobody']) Object.assign(people[name]!, await signIn(base, name, people[name]!.token));

  const t0 = Date.parse('2025-03-01T10:00:00Z');
  ids.alice1 = (await recordSession(store, recordingsDir, { identity: people.alice!.identity, startedAt: new Date(t0), endedAt: new Date(t0 + 60_000), ticket: 'CHG-1', events: shellEvents })).id;
  ids.alice2 = (await recordSession(store, recordingsDir, { identity: people.alice!.identity, target: 'db1', protocol: 'postgres', startedAt: new Date(t0 + 3_600_000), endedAt: new Date(t0 + 3_700_000), login: null })).id;
  ids.bob1 = (await recordSession(store, recordingsDir, { identity: people.bob!.identity, startedAt: new Date(t0 + 7_200_000), endedAt: new Date(t0 + 7_300_000), events: shellEvents })).id;
  ids.bot1 = (await recordSession(store, recordingsDir, { identity: people['alice-bot']!.identity, startedAt: new Date(t0 + 100), events: shellEvents })).id;
  ids.interrupted = (await recordSession(store, recordingsDir, { identity: people.bob!.identity, startedAt: new Date(t0 + 200), state: 'interrupted', endReason: 'gateway crashed' })).id;
  await recordQueries(store, ids.alice2, people.alice!.identity, [
    { statement: 'select 1', startedAt: new Date(t0 + 3_600_100) },
    { statement: 'select $1::int, \'a,"b"\'', params: [{ oid: 23, format: 'text', value: '42' }], startedAt: new Date(t0 + 3_600_200) },
    { statement: 'select * from missing', status: 'error', errorMessage: 'relation "missing" does not exist', startedAt: new Date(t0 + 3_600_300) },
    { statement: '=cmd|calc', startedAt: new Date(t0 + 3_600_400), target: 'db2' },
  ]);
  await recordQueries(store, 'ses_bobdb', people.bob!.identity, [{ statement: 'select secret from bob', startedAt: new Date(t0 + 10) }]);
}, 120_000);

afterAll(async () => {
  await tg?.stop();
});

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and returns the CSRF token and rights', async () => {
    const response = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'alice', token: people.alice!.token }),
    });
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^custos_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure'); // plain HTTP listener; Secure under web.tls
    const body = (await response.json()) as { rights: unknown; csrfToken: string };
    expect(body.rights).toEqual({ sessions: 'own', queries: 'own', audit: false, terminate: false });
    expect(body.csrfToken.length).toBeGreaterThan(20);
    const me = await json<{ identity: { name: string } }>('alice', '/api/me');
    expect(me.identity.name).toBe('alice');
  });

  it('refuses a wrong token, or a token of another identity, and writes auth.failure', async () => {
    for (const [identity, token] of [
      ['alice', 'cus_wrong'],
      ['alice', people.bob!.token],
    ] as const) {
      const response = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity, token }) });
      expect(response.status).toBe(401);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
    const failures = await tg.gateway.store.audit.list({ type: 'auth.failure', identity: 'alice' });
    expect(failures.map((event) => event.data.reason)).toEqual(['unknown token', 'the token belongs to another identity']);
    expect(failures[0]!.data.protocol).toBe('web');
  });

  it('rate-limits failed sign-ins per client address and identity: the attacker waits, the identity signs in from elsewhere', async () => {
    const attacker = '127.0.0.3';
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signInFrom(attacker, 'bob', 'cus_guess')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await signInFrom(attacker, 'bob', 'cus_guess');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    // From the attacker's address even the right token waits until the window passes...
    expect((await signInFrom(attacker, 'bob', people.bob!.token)).status).toBe(429);
    // ...but bob, from his own address, is not locked out.
    expect((await signInFrom('127.0.0.2', 'bob', people.bob!.token)).status).toBe(200);

    // Three failures and one refusal are recorded, not every refused request.
    const events = (await tg.gateway.store.audit.list({ type: 'auth.failure', identity: 'bob' })).filter((e) => e.data.clientAddr === attacker);
    expect(events.map((e) => String(e.data.reason).split(' (')[0])).toEqual(['unknown token', 'unknown token', 'unknown token', 'rate limited: too many failed sign-ins']);
  });

  it('needs the CSRF token on state-changing requests, and refuses cross-origin ones', async () => {
    const session = await signIn(base, 'alice', people.alice!.token);
    const post = (headers: Record<string, string>) => fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie: session.cookie, ...headers } });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': session.csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': session.csrf })).status).toBe(200);
    const after = await fetch(`${base}/api/me`, { headers: { cookie: session.cookie } });
    expect(after.status).toBe(401);
  });

  it('ends the web session when its token is revoked', async () => {
    const temp = await createIdentity(tg.gateway.store, tg.config, { name: 'temp-user' });
    const session = await signIn(base, 'temp-user', temp.token);
    expect((await fetch(`${base}/api/me`, { headers: { cookie: session.cookie } })).status).toBe(200);
    const [token] = await tg.gateway.store.tokens.list({ identityName: 'temp-user' });
    await tg.gateway.store.tokens.revoke(token!.id, 'test', { type: 'token.revoke', actor: 'test', identity: 'temp-user', data: {} });
    expect((await fetch(`${base}/api/me`, { headers: { cookie: session.cookie } })).status).toBe(401);
  });

  it('sends a CSP without inline scripts and other protective headers', async () => {
    const response = await fetch(`${base}/api/me`);
    expect(response.status).toBe(401);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('sessions', () => {
  it('lists only the viewer\'s own sessions (and their bots\') by default, all with sessions: all', async () => {
    const own = await json<{ items: Array<{ id: string }> }>('alice', '/api/sessions');
    expect(own.items.map((s) => s.id).sort()).toEqual([ids.alice1, ids.alice2, ids.bot1].sort());
    const all = await json<{ items: Array<{ id: string }> }>('auditor', '/api/sessions');
    expect(all.items.map((s) => s.id)).toEqual(expect.arrayContaining([ids.alice1, ids.bob1, ids.interrupted]));
  });

  it('filters by identity, target, protocol, state, ticket and time range, and pages by cursor', async () => {
    const list = async (query: string) => (await json<{ items: Array<{ id: string }>; nextCursor: string | null }>('auditor', `/api/sessions?${query}`));
    expect((await list('identity=bob')).items.map((s) => s.id).sort()).toEqual([ids.bob1, ids.interrupted].sort());
    expect((await list('target=db1')).items.map((s) => s.id)).toEqual([ids.alice2]);
    expect((await list('protocol=postgres')).items.map((s) => s.id)).toEqual([ids.alice2]);
    expect((await list('state=interrupted')).items.map((s) => s.id)).toEqual([ids.interrupted]);
    expect((await list('ticket=CHG-1')).items.map((s) => s.id)).toEqual([ids.alice1]);
    // Sessions overlapping 10:30–11:30: alice2 (11:00–11:01:40); alice1 ended at 10:01.
    expect((await list('since=2025-03-01T10:30:00Z&until=2025-03-01T11:30:00Z&identity=alice')).items.map((s) => s.id)).toEqual([ids.alice2]);
    const first = await list('limit=2&since=2025-03-01T00:00:00Z&until=2025-03-02T00:00:00Z');
    expect(first.items).toHaveLength(2);
    const second = await list(`limit=2&since=2025-03-01T00:00:00Z&until=2025-03-02T00:00:00Z&cursor=${first.nextCursor}`);
    const third = await list(`limit=2&since=2025-03-01T00:00:00Z&until=2025-03-02T00:00:00Z&cursor=${second.nextCursor}`);
    const walked = [...first.items, ...second.items, ...third.items].map((s) => s.id);
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked).toEqual(expect.arrayContaining([ids.alice1, ids.alice2, ids.bob1, ids.bot1, ids.interrupted]));
    expect((await api('auditor', '/api/sessions?colour=red')).status).toBe(400);
    expect((await api('auditor', '/api/sessions?since=yesterday')).status).toBe(400);
  });

  it('shows every evidence tag of a session, and 404 for another identity\'s session', async () => {
    const detail = await json<{ session: Record<string, unknown>; channels: unknown[]; recordings: Array<{ channel: string }> }>('alice', `/api/sessions/${ids.alice1}`);
    expect(detail.session).toMatchObject({
      id: ids.alice1,
      identityName: 'alice',
      identityKind: 'human',
      credentialId: 'ssh-key:SHA256:fixture-alice',
      target: 'web1',
      login: 'deploy',
      clientAddr: '127.0.0.1:50000',
      ticket: 'CHG-1',
      state: 'closed',
      endReason: 'client disconnected',
    });
    expect(detail.session).not.toHaveProperty('recordingPath');
    expect(detail.recordings.map((r) => r.channel)).toEqual(['0']);
    expect((await api('alice', `/api/sessions/${ids.bob1}`)).status).toBe(404);
    expect((await api('alice', `/api/sessions/${ids.bob1}/recording`)).status).toBe(404);
    expect((await api('alice', `/api/sessions/${ids.bob1}/replay`)).status).toBe(404);
    expect((await api('nobody', '/api/sessions')).status).toBe(403);
    expect((await api('nobody', `/api/sessions/${ids.bob1}`)).status).toBe(403);
    expect((await fetch(`${base}/api/sessions/${ids.bob1}`)).status).toBe(401);
  });

  it('verifies each recording against the row and the hash-chained end event, and notices a changed byte', async () => {
    const ok = await json<{ recordings: Array<{ status: string; chained: string | null }> }>('bob', `/api/sessions/${ids.bob1}/verify`);
    expect(ok.recordings).toHaveLength(1);
    expect(ok.recordings[0]!.status).toBe('verified');
    expect(ok.recordings[0]!.chained).toMatch(/^[0-9a-f]{64}$/);
    const detail = await tg.gateway.store.sessions.detail(ids.bob1);
    const path = detail!.channels[0]!.recordingPath!;
    writeFileSync(path, readFileSync(path, 'utf8').replace('hello', 'HELLO'));
    const bad = await json<{ recordings: Array<{ status: string }> }>('bob', `/api/sessions/${ids.bob1}/verify`);
    expect(bad.recordings[0]!.status).toBe('mismatch');
  });
});

describe('recordings', () => {
  it('streams the raw .cast with byte ranges, as a download too, and audits views once and downloads each time', async () => {
    const full = await api('alice', `/api/sessions/${ids.alice1}/recording`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('application/x-asciicast');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    const text = await full.text();
    expect(text.split('\n')[0]).toContain('"version":2');
    const part = await api('alice', `/api/sessions/${ids.alice1}/recording`, { headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-9/${Buffer.byteLength(text)}`);
    expect(await part.text()).toBe(text.slice(0, 10));
    const tail = await api('alice', `/api/sessions/${ids.alice1}/recording`, { headers: { range: 'bytes=-5' } });
    expect(await tail.text()).toBe(text.slice(-5));
    expect((await api('alice', `/api/sessions/${ids.alice1}/recording`, { headers: { range: 'bytes=99999-' } })).status).toBe(416);
    const download = await api('alice', `/api/sessions/${ids.alice1}/recording?download=1`);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${ids.alice1}-0.cast"`);
    expect(await download.text()).toBe(text);
    await api('alice', `/api/sessions/${ids.alice1}/recording?download=1`);
    await tg.gateway.audit.flush();
    const views = await tg.gateway.store.audit.list({ sessionId: ids.alice1, typePrefix: 'web.' });
    expect(views.filter((e) => e.type === 'web.recording.view')).toHaveLength(1);
    expect(views.filter((e) => e.type === 'web.recording.download')).toHaveLength(2);
    expect(views[0]).toMatchObject({ actor: 'alice', identity: 'alice', sessionId: ids.alice1, target: 'web1' });
  });

  it('shows a channel without a terminal per stream, serves each stream exactly, and never replays it as a terminal', async () => {
    const binary = Buffer.from([0, 1, 2, 0xff, 0x1b, 0x5b, 0x32, 0x4a]);
    const { id } = await recordSession(tg.gateway.store, recordingsDir, {
      identity: people.alice!.identity,
      channelKind: 'exec',
      command: 'cat /bin/x',
      frames: [
        [0.1, 'i', Buffer.from('typed\n')],
        [0.2, 'o', binary.subarray(0, 3)],
        [0.3, 'e', Buffer.from('warning: € sign\n')],
        [0.4, 'o', binary.subarray(3)],
        [0.5, 'x', Buffer.from('{"code":0,"signal":null}')],
      ],
    });
    const detail = await json<{ recordings: Array<{ channel: string; format: string }> }>('alice', `/api/sessions/${id}`);
    expect(detail.recordings).toMatchObject([{ channel: '0', format: 'bytes' }]);
    const view = await json<{ streams: Record<string, { bytes: number; printable: boolean; sha256: string; text?: string }>; exit: unknown }>('alice', `/api/sessions/${id}/bytes?channel=0`);
    expect(view.streams.stdout).toEqual({ bytes: 8, printable: false, sha256: createHash('sha256').update(binary).digest('hex') });
    expect(view.streams.stderr).toMatchObject({ printable: true, text: 'warning: € sign\n' });
    expect(view.streams.stdin).toMatchObject({ printable: true, text: 'typed\n' });
    expect(view.exit).toEqual({ code: 0, signal: null });
    const stdout = await api('alice', `/api/sessions/${id}/bytes/stdout?channel=0`);
    expect(stdout.headers.get('content-type')).toBe('application/octet-stream');
    expect(stdout.headers.get('content-disposition')).toBe(`attachment; filename="${id}-0.stdout"`);
    expect(Buffer.from(await stdout.arrayBuffer()).equals(binary)).toBe(true);
    const raw = await api('alice', `/api/sessions/${id}/recording?download=1`);
    expect(raw.headers.get('content-disposition')).toBe(`attachment; filename="${id}-0.bytes"`);
    expect(raw.headers.get('content-type')).toBe('application/octet-stream');
    expect((await api('alice', `/api/sessions/${id}/bytes/stdlog?channel=0`)).status).toBe(400);
    expect((await api('bob', `/api/sessions/${id}/bytes?channel=0`)).status).toBe(404);
    expect((await api('alice', `/api/sessions/${id}/replay`)).status).toBe(422);
    expect((await api('alice', `/api/sessions/${ids.alice1}/bytes`)).status).toBe(422);
    const verify = await json<{ recordings: Array<{ status: string }> }>('alice', `/api/sessions/${id}/verify`);
    expect(verify.recordings).toMatchObject([{ status: 'verified' }]);
    await tg.gateway.audit.flush();
    const events = await tg.gateway.store.audit.list({ sessionId: id, typePrefix: 'web.' });
    expect(events.map((e) => [e.type, e.data.stream ?? null])).toEqual(
      expect.arrayContaining([
        ['web.recording.view', null],
        ['web.recording.download', 'stdout'],
      ]),
    );
  });

  it('never serves a file outside the recordings directory, whatever the row says', async () => {
    const outside = makeTempDir('cout-');
    const secret = join(outside.path, 'secret.cast');
    writeFileSync(secret, '{"version":2,"width":80,"height":24}\n[0.1,"o","secret"]\n');
    const { id } = await recordSession(tg.gateway.store, recordingsDir, { identity: people.alice!.identity, events: shellEvents });
    const store = tg.gateway.store;
    for (const path of [secret, join(recordingsDir, '..', 'custos.yaml')]) {
      // The channel's path and the session's main one, each pointed outside in turn.
      await store.sessions.updateChannel(id, 0, { recordingPath: path });
      expect((await api('alice', `/api/sessions/${id}/recording?channel=0`)).status).toBe(404);
      await store.sessions.setRecordingPath(id, path);
      expect((await api('alice', `/api/sessions/${id}/recording`)).status).toBe(404);
      expect((await api('alice', `/api/sessions/${id}/recording?channel=main`)).status).toBe(404);
    }
    outside.remove();
  });

  it('serves the segmented replay: index with duration and markers, segments with snapshots', async () => {
    const index = await json<{ version: number; duration: number; term: { cols: number }; segments: Array<{ start: number; url: string }>; markers: Array<[number, string]> }>(
      'alice',
      `/api/sessions/${ids.alice1}/replay`,
    );
    expect(index.version).toBe(1);
    expect(index.duration).toBe(1.5);
    expect(index.term).toEqual({ cols: 80, rows: 24 });
    expect(index.markers).toEqual([
      [0.5, '$ echo hello'],
      [1, 'resize 100x30'],
    ]);
    const segment = await json<{ snapshot: { init: string }; events: unknown[] }>('alice', index.segments[0]!.url);
    expect(segment.snapshot.init).toBe('');
    expect(segment.events).toEqual(shellEvents);
  });

  it('tails a live recording over WebSocket until the session ends', async () => {
    const first: CastEvent[] = [
      [0.1, 'o', 'live line one\r\n'],
      [0.2, 'o', 'live line two\r\n'],
    ];
    const { id, recordingPath } = await recordSession(tg.gateway.store, recordingsDir, { identity: people.alice!.identity, state: 'live', events: first });
    const wsUrl = `ws://${base.slice('http://'.length)}/api/sessions/${id}/live`;
    const refused = new WebSocket(wsUrl, ['v2.asciicast'], { headers: { cookie: people.alice!.cookie } });
    const refusal = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(refusal).toBe(403); // no Origin: cross-site WebSocket hijacking guard
    const other = new WebSocket(wsUrl, ['v2.asciicast'], { headers: { cookie: people.bob!.cookie, origin: base } });
    expect(await new Promise<number>((resolve) => other.on('unexpected-response', (_req, res) => resolve(res.statusCode!)))).toBe(404);

    const socket = new WebSocket(wsUrl, ['v2.asciicast'], { headers: { cookie: people.alice!.cookie, origin: base } });
    const messages: unknown[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await waitFor(() => messages.length >= 2, { what: 'header and backlog' });
    expect(socket.protocol).toBe('v2.asciicast');
    expect(messages[0]).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(messages[1]).toEqual([0.1, 'o', 'live line one\r\nlive line two\r\n']);
    appendCastEvents(recordingPath!, [[0.9, 'o', 'a new line\r\n']]);
    await waitFor(() => messages.length >= 3, { what: 'the appended event' });
    expect(messages[2]).toEqual([0.9, 'o', 'a new line\r\n']);
    await endSession(tg.gateway.store, id, { identity: people.alice!.identity }, recordingPath);
    expect(await closed).toBe(1000);
    const watched = await tg.gateway.store.audit.list({ sessionId: id, type: 'web.recording.live' });
    expect(watched).toHaveLength(1);
  });

  it('tails a command run without a pseudo-terminal with the line ends a terminal showed', async () => {
    const { id, recordingPath } = await recordSession(tg.gateway.store, recordingsDir, {
      identity: people.alice!.identity,
      state: 'live',
      channelKind: 'exec',
      command: 'tail -f app.log',
      pty: false,
      events: [[0.1, 'o', 'one\ntwo\n']],
    });
    const socket = new WebSocket(`ws://${base.slice('http://'.length)}/api/sessions/${id}/live`, ['v2.asciicast'], { headers: { cookie: people.alice!.cookie, origin: base } });
    const messages: unknown[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await waitFor(() => messages.length >= 2, { what: 'header and backlog' });
    expect(messages[1]).toEqual([0.1, 'o', 'one\r\ntwo\r\n']);
    await endSession(tg.gateway.store, id, { identity: people.alice!.identity }, recordingPath);
    expect(await closed).toBe(1000);
    // The file keeps the bytes as they were recorded.
    expect(readFileSync(recordingPath!, 'utf8')).toContain('"one\\ntwo\\n"');
  });
});

describe('queries', () => {
  it('lists own queries only, with statement, parameters, timing, rows and errors', async () => {
    const own = await json<{ items: Array<Record<string, unknown>> }>('alice', '/api/queries');
    expect(own.items.map((q) => q.statement)).toEqual(['=cmd|calc', 'select * from missing', 'select $1::int, \'a,"b"\'', 'select 1']);
    expect(own.items[1]).toMatchObject({ status: 'error', errorMessage: 'relation "missing" does not exist', identity: 'alice', target: 'db1' });
    expect(own.items[2]!.params).toEqual([{ oid: 23, format: 'text', value: '42' }]);
    const all = await json<{ items: Array<Record<string, unknown>> }>('auditor', '/api/queries?identity=bob');
    expect(all.items.map((q) => q.statement)).toEqual(['select secret from bob']);
    expect((await json<{ items: unknown[] }>('alice', '/api/queries?identity=bob')).items).toEqual([]);
    expect((await api('nobody', '/api/queries')).status).toBe(403);
    expect((await api('nobody', '/api/queries/export?format=csv')).status).toBe(403);
  });

  it('exports exactly the filtered set as CSV and JSON lines, and audits each export', async () => {
    const csv = await api('alice', '/api/queries/export?format=csv&target=db1');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="custos-queries-.*\.csv"$/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    // The same export format as `custos queries --format csv` (README: Exporting the query log).
    expect(lines[0]).toBe('id,started_at,identity,identity_id,session_id,seq,target,database,db_user,protocol,statement,params,status,command_tag,row_count,duration_ms,sqlstate,error_message,details,ticket');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('"select $1::int, \'a,""b""\'"');
    const jsonl = await api('alice', '/api/queries/export?format=jsonl');
    const rows = (await jsonl.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as { statement: string });
    expect(rows.map((r) => r.statement)).toEqual(['select 1', 'select $1::int, \'a,"b"\'', 'select * from missing', '=cmd|calc']);
    const formula = await (await api('alice', '/api/queries/export?format=csv&target=db2')).text();
    expect(formula).toContain(",'=cmd|calc,");
    const bobs = await (await api('alice', '/api/queries/export?format=jsonl&identity=bob')).text();
    expect(bobs).toBe('');
    const exports = await tg.gateway.store.audit.list({ type: 'web.queries.export', actor: 'alice' });
    expect(exports.length).toBeGreaterThanOrEqual(4);
    expect(exports[0]!.data).toMatchObject({ format: 'csv', scope: 'own', filter: { target: 'db1' } });
  });
});

describe('audit page', () => {
  it('is refused without the audit right', async () => {
    expect((await api('alice', '/api/audit')).status).toBe(403);
    expect((await api('alice', '/api/audit/verify')).status).toBe(403);
  });

  it('shows permission changes with before/after, access decisions, filters, and the chain status', async () => {
    const changes = await json<{ items: Array<{ type: string; actor: string; data: Record<string, unknown> }> }>('auditor', '/api/audit?category=changes&identity=alice');
    const created = changes.items.find((e) => e.type === 'resource.create');
    expect(created).toMatchObject({ actor: 'test:fixtures', data: { kind: 'identity', name: 'alice', before: null } });
    expect(changes.items.some((e) => e.type === 'token.create')).toBe(true);
    expect(changes.items.every((e) => /^(resource|permission|token|credential)\./.test(e.type))).toBe(true);
    const access = await json<{ items: Array<{ type: string }> }>('auditor', '/api/audit?category=access');
    expect(access.items.length).toBeGreaterThan(0);
    expect(access.items.every((e) => /^(access|auth)\./.test(e.type))).toBe(true);
    const verify = await json<{ ok: boolean; checked: number }>('auditor', '/api/audit/verify');
    expect(verify.ok).toBe(true);
    expect(verify.checked).toBeGreaterThan(10);
  });
});
