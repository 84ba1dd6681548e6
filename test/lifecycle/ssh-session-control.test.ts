import { readFileSync, writeFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOperation } from '../../src/admin/operations.js';
import type { SessionRow } from '../../src/store/repositories/sessions.js';
import { prepareGatewayFiles, spawnGateway } from '../helpers/gateway.js';
import { spawnInPty } from '../helpers/pty.js';
import { SSH, startSshFixture, type SshFixture } from '../helpers/ssh-fixture.js';
import { makeKeyPair, type KeyPair } from '../helpers/ssh-keys.js';
import { waitFor } from '../helpers/wait.js';

let f: SshFixture;
let dave: KeyPair;
let erin: KeyPair;

beforeAll(async () => {
  f = await startSshFixture({ settings: { ssh: { maxChannelsPerConnection: 3 } } });
  dave = makeKeyPair(f.dir, 'dave');
  erin = makeKeyPair(f.dir, 'erin');
  await f.apply(`${f.resources}
---
kind: role
name: terminators
spec:
  targets: { env: test }
  logins: [${f.login}]
  viewer: { sessions: all, terminate: true }
---
kind: identity
name: dave
spec:
  kind: human
  roles: [ops]
  sshKeys: ["${dave.publicLine}"]
---
kind: identity
name: erin
spec:
  kind: human
  roles: [terminators]
  sshKeys: ["${erin.publicLine}"]
`);
});
afterAll(() => f?.stop());

const store = () => f.gateway.gateway.store;
const sessionIdOf = async (term: ReturnType<typeof spawnInPty>) => /\(session (ses_[a-z0-9]+)\)/.exec(await term.waitFor(/\(session (ses_[a-z0-9]+)\)/))![1]!;
const ended = (id: string) =>
  waitFor(
    async () => {
      const row = await store().sessions.get(id);
      return row && row.state !== 'live' ? row : undefined;
    },
    { what: `session ${id} to end` },
  );

describe('ending live SSH sessions', () => {
  it('sessions kill ends an interactive ssh -tt shell, telling the operator who ended it and why', async () => {
    const term = spawnInPty(SSH, f.sshArgs(f.keys.alice, `${f.login}@web1`, [], ['-tt']));
    const id = await sessionIdOf(term);
    term.write('echo READY-$((1+1))\r');
    await term.waitFor('READY-2');
    const killed = await f.gateway.cli(['sessions', 'kill', id, '--reason', 'incident 7']);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stdout).toMatch(new RegExp(`^session ${id} ended: ended by os:[^:]+: incident 7`));
    await term.waitFor(/custos: session ended by os:\S+@\S+: incident 7\r?\n/);
    await term.exited;
    const row = await ended(id);
    expect(row).toMatchObject({ state: 'closed', endReason: expect.stringMatching(/^ended by os:\S+@\S+: incident 7$/) });
    const events = await store().audit.list({ sessionId: id, limit: 50 });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['session.start', 'session.terminate', 'session.end']));
    expect(events.find((e) => e.type === 'session.terminate')).toMatchObject({ actor: expect.stringMatching(/^os:/), data: { reason: 'incident 7' } });
    expect(events.filter((e) => e.type === 'session.end')).toHaveLength(1);
    // The recording keeps the line the operator read.
    const cast = readFileSync(row.recordingPath!, 'utf8');
    expect(cast).toContain('session ended by os:');
    const again = await f.gateway.cli(['sessions', 'kill', id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not live');
  });

  it('ends a live shell when the SSH key that opened it is removed from the identity', async () => {
    const term = spawnInPty(SSH, f.sshArgs(dave, `${f.login}@web1`, [], ['-tt']));
    const id = await sessionIdOf(term);
    await runOperation({ store: store(), actor: 'os:admin@host', config: f.gateway.config }, 'apply', {
      files: [{ source: 'dave.yaml', text: `kind: identity\nname: dave\nspec:\n  kind: human\n  roles: [ops]\n` }],
      reason: 'key rotated',
    });
    await term.waitFor(/custos: access revoked: SSH key SHA256:\S+ no longer belongs to dave/);
    await term.exited;
    const row = await ended(id);
    expect(row.endReason).toMatch(/^access revoked: SSH key SHA256:\S+ no longer belongs to dave$/);
    const [revoked] = await store().audit.list({ sessionId: id, type: 'access.revoked' });
    expect(revoked).toMatchObject({ actor: 'os:admin@host', identity: 'dave' });
  });

  it('closes the session of a client that disconnects right after authentication, once, and counts it gone', async () => {
    const before = await store().sessions.list({ identity: 'alice', limit: 1000 });
    await new Promise<void>((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('ready', () => client.end());
      client.on('close', () => resolve());
      client.on('error', reject);
      client.connect({ host: '127.0.0.1', port: f.port, username: `${f.login}@web1`, privateKey: readFileSync(f.keys.alice.privatePath), hostVerifier: () => true });
    });
    const row = await waitFor(async () => {
      const rows = await store().sessions.list({ identity: 'alice', limit: 1000 });
      const fresh = rows.find((r) => !before.some((b) => b.id === r.id));
      return fresh && fresh.state === 'closed' ? fresh : undefined;
    }, { what: 'the session to be closed' });
    expect(row.endReason).toBe('the client disconnected');
    const events = await store().audit.list({ sessionId: row.id, limit: 50 });
    expect(events.map((e) => e.type).filter((t) => t.startsWith('session.'))).toEqual(['session.start', 'session.end']);
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${f.gateway.address('web').port}/metrics`)).text();
      return /^custos_ssh_sessions_active 0$/m.test(text) ? text : undefined;
    }, { what: 'no active SSH session in /metrics' });
    expect(metrics).toMatch(/^custos_ssh_sessions_active 0$/m);
  });

  it('refuses more session channels than ssh.maxChannelsPerConnection, with a reason and one audit event', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve());
      client.on('error', reject);
      client.connect({ host: '127.0.0.1', port: f.port, username: `${f.login}@web1`, privateKey: readFileSync(f.keys.alice.privatePath), hostVerifier: () => true });
    });
    try {
      const exec = (command: string) =>
        new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel))));
      const open = await Promise.all([exec('sleep 30'), exec('sleep 30'), exec('sleep 30')]);
      const refused = await exec('echo never').catch((err: Error) => err);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toContain('custos: too many channels open on this connection (at most 3 at once, ssh.maxChannelsPerConnection)');
      await exec('echo never again').catch(() => undefined);
      for (const channel of open) channel.close();
      const event = await waitFor(async () => (await store().audit.list({ type: 'ssh.channel.refused', identity: 'alice' }))[0]);
      expect(event.data).toMatchObject({ limit: 3 });
      expect(await store().audit.list({ type: 'ssh.channel.refused', identity: 'alice' })).toHaveLength(1);
    } finally {
      client.end();
    }
  });

  it('lets an identity with viewer.terminate end a session from the viewer; others get 403', async () => {
    const term = spawnInPty(SSH, f.sshArgs(f.keys.alice, `${f.login}@web1`, [], ['-tt']));
    const id = await sessionIdOf(term);
    const base = `http://127.0.0.1:${f.gateway.address('web').port}`;
    const signIn = async (identity: string) => {
      const { token } = (await runOperation({ store: store(), actor: 'test', config: f.gateway.config }, 'token.create', { identity, ttl: '1h' })) as { token: string };
      const response = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity, token }) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { csrfToken: string; rights: { terminate: boolean } };
      return { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrf: body.csrfToken, rights: body.rights };
    };
    const terminate = (who: { cookie: string; csrf: string }, body: unknown) =>
      fetch(`${base}/api/sessions/${id}/terminate`, {
        method: 'POST',
        headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const alice = await signIn('alice');
    expect(alice.rights.terminate).toBe(false);
    expect((await terminate(alice, { reason: 'mine' })).status).toBe(403);
    const erinViewer = await signIn('erin');
    expect(erinViewer.rights.terminate).toBe(true);
    expect((await terminate({ ...erinViewer, csrf: 'forged' }, { reason: 'x' })).status).toBe(403);
    expect((await terminate(erinViewer, {})).status).toBe(400);
    const response = await terminate(erinViewer, { reason: 'suspicious commands' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ended: true, endReason: 'ended by erin: suspicious commands' });
    await term.waitFor('custos: session ended by erin: suspicious commands');
    const [event] = await store().audit.list({ sessionId: id, type: 'session.terminate' });
    expect(event).toMatchObject({ actor: 'erin', identity: 'alice' });
    expect((await terminate(erinViewer, { reason: 'again' })).status).toBe(409);
  });
});

describe('graceful shutdown with a live SSH shell', () => {
  it('warns the terminal once, ends the session at the end of shutdown.grace, seals the recording, and exits', async () => {
    const files = await prepareGatewayFiles({ settings: { listen: { ssh: '127.0.0.1:0', web: 'off' }, shutdown: { grace: '3s' } } });
    try {
      const child = await spawnGateway(files);
      const port = Number(child.addresses.ssh!.split(':').at(-1));
      const resources = `${files.dataDir}/resources.yaml`;
      writeFileSync(resources, f.resources);
      expect((await files.cli(['apply', '-f', resources])).code).toBe(0);
      const term = spawnInPty(SSH, f.sshArgsVia({ port, dataDir: files.dataDir }, f.keys.alice, `${f.login}@web1`, [], ['-tt']));
      const id = await sessionIdOf(term);
      term.write('echo BEFORE-SHUTDOWN-$((2*21))\r');
      await term.waitFor('BEFORE-SHUTDOWN-42');
      const exited = child.stop();
      await term.waitFor('custos: gateway shutting down in 3s');
      // Still usable during the grace.
      term.write('echo DURING-GRACE-$((3*3))\r');
      await term.waitFor('DURING-GRACE-9');
      await term.waitFor('custos: the gateway is shutting down');
      await term.exited;
      expect(await exited).toBe(0);
      expect(child.logs()).toContain('"msg":"stopped"');
      expect(term.output().match(/gateway shutting down in/g)).toHaveLength(1);

      const shown = await files.cli(['sessions', 'show', id, '--format', 'json']);
      expect(shown.code, shown.stderr).toBe(0);
      const show = JSON.parse(shown.stdout) as { session: SessionRow; recording: { matches: boolean }; endEvent: { type: string; agreesWithRow: boolean } };
      expect(show.session).toMatchObject({ state: 'closed', endReason: 'the gateway shut down' });
      expect(show.recording.matches).toBe(true);
      expect(show.endEvent).toMatchObject({ type: 'session.end', agreesWithRow: true });
      const cast = readFileSync(show.session.recordingPath!, 'utf8');
      expect(cast).toContain('DURING-GRACE-9');
      expect(cast).toContain('gateway shutting down in 3s');
      const verify = await files.cli(['verify']);
      expect(verify.code, verify.stdout).toBe(0);
    } finally {
      files.remove();
    }
  }, 180_000);

  it('exits promptly on SIGTERM after a client left right after authentication, with no live session', async () => {
    const files = await prepareGatewayFiles({ settings: { listen: { ssh: '127.0.0.1:0', web: 'off' } } });
    try {
      const child = await spawnGateway(files);
      const port = Number(child.addresses.ssh!.split(':').at(-1));
      writeFileSync(`${files.dataDir}/resources.yaml`, f.resources);
      expect((await files.cli(['apply', '-f', `${files.dataDir}/resources.yaml`])).code).toBe(0);
      await new Promise<void>((resolve, reject) => {
        const client = new ssh2.Client();
        client.on('ready', () => client.end());
        client.on('close', () => resolve());
        client.on('error', reject);
        client.connect({ host: '127.0.0.1', port, username: `${f.login}@web1`, privateKey: readFileSync(f.keys.alice.privatePath), hostVerifier: () => true });
      });
      await waitFor(async () => {
        const listed = await files.cli(['sessions', 'ls', '--identity', 'alice', '--format', 'json']);
        const rows = listed.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as SessionRow);
        return rows.length === 1 && rows[0]!.state === 'closed';
      }, { what: 'the session to be closed' });
      const code = await Promise.race([child.stop(), new Promise((resolve) => setTimeout(() => resolve('still running 20 s after SIGTERM'), 20_000).unref())]);
      expect(code).toBe(0);
      const listed = await files.cli(['sessions', 'ls', '--state', 'live', '--format', 'json']);
      expect(listed.stdout.trim()).toBe('');
    } finally {
      files.remove();
    }
  }, 180_000);
});
