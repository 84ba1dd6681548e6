import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoryRights } from '../../src/policy/viewer-rights.js';
import type { Story, StoryEntry } from '../../src/recorder/story/story-model.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createIdentity, recordQueries, recordSession, signIn, type CastEvent, type FixtureIdentity, type ViewerRightsSpec } from '../helpers/viewer-fixtures.js';

/**
 * GET /api/identities/:name/story — the viewer's identity page: everyone reads their own
 * story (and their bots'); another identity's sessions need `sessions: all`, its statements
 * `queries: all`, its history `audit: true`; with none of them it is not found, like an
 * unknown name.
 */
let tg: TestGateway;
let base: string;
const people: Record<string, { identity: FixtureIdentity; cookie: string }> = {};
const sessions = {} as Record<'ssh' | 'pg' | 'bot', string>;
const t0 = Date.parse('2025-03-01T10:00:00Z');
const window = `since=${encodeURIComponent(new Date(t0 - 60_000).toISOString())}`;

const shell: CastEvent[] = [
  [0.1, 'o', '$ '],
  [0.5, 'i', 'uptime\r'],
  [0.6, 'o', 'uptime\r\n up 1 day\r\n$ '],
];

type StoryResponse = Story & { rights: StoryRights };

async function story(who: string | null, name: string, query = window): Promise<Response> {
  return fetch(`${base}/api/identities/${encodeURIComponent(name)}/story?${query}`, { headers: who ? { cookie: people[who]!.cookie } : {} });
}

async function storyOk(who: string, name: string, query = window): Promise<StoryResponse> {
  const response = await story(who, name, query);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as StoryResponse;
}

/** Which part of the story each entry is (as the rights see it). */
function parts(entries: StoryEntry[]): Set<'sessions' | 'statements' | 'history'> {
  const inSession = new Set(entries.filter((entry) => entry.kind === 'session.start').map((entry) => entry.session_id));
  return new Set(
    entries.map((entry) =>
      entry.kind === 'statement' ? 'statements' : entry.session_id && (inSession.has(entry.session_id) || Object.values(sessions).includes(entry.session_id)) ? 'sessions' : 'history',
    ),
  );
}

beforeAll(async () => {
  tg = await startTestGateway();
  const { host, port } = tg.address('web');
  base = `http://${host}:${port}`;
  const store = tg.gateway.store;
  const make = async (name: string, viewer?: ViewerRightsSpec, extra: { kind?: 'bot'; owner?: string } = {}) => {
    const created = await createIdentity(store, tg.config, { name, ...(viewer ? { viewer } : {}), ...extra });
    people[name] = { identity: created.identity, cookie: extra.kind === 'bot' ? '' : (await signIn(base, name, created.token)).cookie };
  };
  await make('bob'); // default rights: own sessions and queries, no audit
  await make('alice');
  await make('bob-bot', undefined, { kind: 'bot', owner: 'bob' });
  await make('auditor', { sessions: 'all', queries: 'all', audit: true });
  await make('watcher', { sessions: 'all', queries: 'none', audit: false });
  await make('querier', { sessions: 'none', queries: 'all', audit: false });
  await make('historian', { sessions: 'none', queries: 'none', audit: true });
  await make('nobody', { sessions: 'none', queries: 'none', audit: false });

  const recordings = tg.config.recordings.dir;
  const bob = people.bob!.identity;
  sessions.ssh = (await recordSession(store, recordings, { identity: bob, startedAt: new Date(t0), endedAt: new Date(t0 + 60_000), events: shell })).id;
  sessions.pg = (await recordSession(store, recordings, { identity: bob, protocol: 'postgres', target: 'db1', login: null, startedAt: new Date(t0 + 3_600_000), endedAt: new Date(t0 + 3_700_000) })).id;
  await recordQueries(store, sessions.pg, bob, [
    { statement: 'select 1', startedAt: new Date(t0 + 3_600_100) },
    { statement: "select '<b>x</b>'", startedAt: new Date(t0 + 3_600_200) },
  ]);
  sessions.bot = (await recordSession(store, recordings, { identity: people['bob-bot']!.identity, startedAt: new Date(t0 + 100), endedAt: new Date(t0 + 200), events: shell })).id;
}, 120_000);

afterAll(async () => {
  await tg?.stop();
});

describe('GET /api/identities/:name/story', () => {
  it('needs a signed-in viewer', async () => {
    const response = await story(null, 'bob');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('always shows a viewer its own story: sessions, statements and history', async () => {
    const own = await storyOk('bob', 'bob', `${window}&statements=true`);
    expect(own.rights).toEqual({ sessions: true, statements: true, history: true });
    expect(own.identity).toMatchObject({ name: 'bob', kind: 'human', bots: ['bob-bot'] });
    expect(own.identity!.credentials.length).toBeGreaterThan(0);
    const kinds = own.entries.map((entry) => entry.kind);
    expect(kinds).toEqual(expect.arrayContaining(['resource.create', 'token.create', 'session.start', 'channel', 'command', 'session.end', 'statement']));
    expect(parts(own.entries)).toEqual(new Set(['sessions', 'statements', 'history']));
    const times = own.entries.map((entry) => Date.parse(entry.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Entries carry the ids that lead to their evidence.
    const start = own.entries.find((entry) => entry.kind === 'session.start' && entry.session_id === sessions.ssh)!;
    expect(start.audit_seqs.length).toBeGreaterThan(0);
    const statement = own.entries.find((entry) => entry.kind === 'statement' && entry.summary.includes('<b>x</b>'))!;
    expect(statement).toMatchObject({ session_id: sessions.pg, query: { seq: 2 } });
    expect(own.entries.find((entry) => entry.kind === 'command')).toMatchObject({ session_id: sessions.ssh, summary: '$ uptime', recording: { file: expect.stringContaining(sessions.ssh) } });

    // Even a viewer with no viewer rights at all reads its own history.
    const bare = await storyOk('nobody', 'nobody');
    expect(bare.rights).toEqual({ sessions: false, statements: false, history: true });
    expect(bare.entries.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['resource.create', 'token.create']));
  });

  it("shows a human its bots' stories", async () => {
    const bot = await storyOk('bob', 'bob-bot');
    expect(bot.rights).toEqual({ sessions: true, statements: true, history: true });
    expect(bot.entries.filter((entry) => entry.kind === 'session.start').map((entry) => entry.session_id)).toEqual([sessions.bot]);
  });

  it("keeps another identity's story from a viewer without rights to it, as if it did not exist", async () => {
    for (const who of ['alice', 'nobody']) {
      const response = await story(who, 'bob');
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: 'not_found', message: 'no identity bob' });
    }
  });

  it("cuts another identity's story to the parts the viewer's rights reach", async () => {
    const all = await storyOk('auditor', 'bob', `${window}&statements=true`);
    expect(all.rights).toEqual({ sessions: true, statements: true, history: true });
    expect(parts(all.entries)).toEqual(new Set(['sessions', 'statements', 'history']));
    const everything = all.entries.length;

    const watched = await storyOk('watcher', 'bob', `${window}&statements=true`);
    expect(watched.rights).toEqual({ sessions: true, statements: false, history: false });
    expect(parts(watched.entries)).toEqual(new Set(['sessions']));
    expect(watched.entries.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['session.start', 'command', 'session.end']));
    expect(watched.identity!.credentials).toEqual([]);

    const queried = await storyOk('querier', 'bob', `${window}&statements=true`);
    expect(queried.rights).toEqual({ sessions: false, statements: true, history: false });
    expect(queried.entries.map((entry) => [entry.kind, entry.summary])).toEqual([
      ['statement', expect.stringContaining('select 1')],
      ['statement', expect.stringContaining("select '<b>x</b>'")],
    ]);
    expect(queried.sessions).toBe(0);

    const history = await storyOk('historian', 'bob');
    expect(history.rights).toEqual({ sessions: false, statements: false, history: true });
    expect(parts(history.entries)).toEqual(new Set(['history']));
    expect(history.entries.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['resource.create', 'token.create']));
    expect(history.identity!.credentials.length).toBeGreaterThan(0);

    // The three parts together are the whole story.
    expect(watched.entries.length + queried.entries.length + history.entries.length).toBe(everything);
  });

  it('filters by protocol and by time', async () => {
    const pg = await storyOk('auditor', 'bob', `${window}&protocol=postgres&statements=true`);
    expect(pg.entries.length).toBeGreaterThan(0);
    expect(new Set(pg.entries.map((entry) => entry.protocol))).toEqual(new Set(['postgres']));
    expect(pg.entries.map((entry) => entry.kind)).toEqual(['session.start', 'statement', 'statement', 'session.end']);

    const ssh = await storyOk('auditor', 'bob', `${window}&protocol=ssh`);
    expect(new Set(ssh.entries.map((entry) => entry.session_id))).toEqual(new Set([sessions.ssh]));

    // A window around the SSH session only: the PostgreSQL session an hour later is out.
    const around = `since=${new Date(t0 - 1000).toISOString()}&until=${new Date(t0 + 120_000).toISOString()}`;
    const early = await storyOk('auditor', 'bob', around);
    expect(early.window).toMatchObject({ since: new Date(t0 - 1000).toISOString(), until: new Date(t0 + 120_000).toISOString() });
    expect(early.entries.length).toBeGreaterThan(0);
    expect(new Set(early.entries.map((entry) => entry.session_id))).toEqual(new Set([sessions.ssh]));
  });

  it('answers an unknown identity or a bad filter with a clear error', async () => {
    const unknown = await story('auditor', 'ghost');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'not_found', message: 'no identity ghost' });
    const protocol = await story('auditor', 'bob', 'protocol=ftp');
    expect(protocol.status).toBe(400);
    expect((await protocol.json()) as { message: string }).toMatchObject({ error: 'bad_request', message: expect.stringContaining('protocol') });
    const since = await story('auditor', 'bob', 'since=yesterday-ish');
    expect(since.status).toBe(400);
    expect((await since.json()) as { message: string }).toMatchObject({ error: 'bad_request', message: expect.stringContaining('since') });
  });
});
