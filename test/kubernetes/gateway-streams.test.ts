import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../src/recorder/asciicast.js';
import { startKubeScenario, type KubeScenario } from '../helpers/kube-gateway.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { kubectlPortForward, roundTrip, startEchoServer } from '../helpers/port-forward.js';
import { spawnInPty } from '../helpers/pty.js';
import { readByteRecording } from '../helpers/recordings.js';
import { waitFor } from '../helpers/wait.js';

/** exec, attach, cp and port-forward through the gateway with real kubectl. */
describe('Kubernetes streams through the gateway', () => {
  let s: KubeScenario;
  let alice: string;
  const sessions = () => s.tg.gateway.store.sessions;
  /** The first exec/attach session opened after `after` (exec and attach are sessions of their own), once closed. */
  const streamSession = (kind: 'exec' | 'attach', after: Date) =>
    waitFor(async () => {
      const rows = await sessions().list({ identity: 'alice', protocol: 'kubernetes' });
      const first = rows.filter((row) => (row.details as { kind?: string }).kind === kind && row.startedAt >= after).at(-1);
      return first?.state === 'closed' ? first : undefined;
    }, { what: `the ${kind} session to close` });

  beforeAll(async () => {
    s = await startKubeScenario();
    s.api.create('v1', 'pods', { metadata: { name: 'box', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh'] }] } });
    alice = await s.kubeconfig('alice');
    expect((await s.kubectl(alice, ['get', 'pods'])).code).toBe(0);
  });
  afterAll(async () => s?.stop());

  it('exec without a tty: output, stderr and exit codes pass through; the session is recorded with its exit status', async () => {
    const started = new Date();
    const failed = await s.kubectl(alice, ['exec', 'box', '--', 'sh', '-c', 'printf out; printf err >&2; exit 5']);
    expect(failed).toMatchObject({ code: 5, stdout: 'out', stderr: 'errcommand terminated with exit code 5\n' });
    expect((await s.kubectl(alice, ['exec', 'box', '--', 'true'])).code).toBe(0);
    const session = await streamSession('exec', started);
    expect(session).toMatchObject({ protocol: 'kubernetes', login: 'custos:alice', endReason: 'the command exited with status 5' });
    expect(session.details).toMatchObject({ namespace: 'default', pod: 'box', container: 'main', command: ['sh', '-c', 'printf out; printf err >&2; exit 5'], tty: false });
    const [channel] = await sessions().channels(session.id);
    expect(channel).toMatchObject({ kind: 'exec', exitCode: 5, pty: null, command: "sh -c 'printf out; printf err >&2; exit 5'" });
    // Without a tty the recording is byte-exact, stream by stream (a `.bytes` file).
    expect(session.recordingPath).toMatch(/\.bytes$/);
    const recorded = readByteRecording(session.recordingPath!);
    expect(recorded.header.custos).toMatchObject({ protocol: 'kubernetes', pty: false, channelKind: 'exec', kubernetes: { namespace: 'default', pod: 'box', container: 'main', subresource: 'exec' } });
    expect(recorded.stdout.toString()).toBe('out');
    expect(recorded.stderr.toString()).toBe('err');
    expect(recorded.exit).toMatchObject({ code: 5 });
    const row = await waitFor(async () => (await s.tg.gateway.store.kubeRequests.list({ sessionId: session.id })).find((entry) => entry.code !== null), {
      what: 'the exec request row to be completed',
    });
    expect(row).toMatchObject({ verb: 'create', subresource: 'exec', code: 101, details: expect.objectContaining({ exitCode: 5, tty: false }) });
    const allowed = await s.tg.gateway.store.audit.list({ type: 'access.allow', sessionId: session.id });
    expect(allowed).toEqual([expect.objectContaining({ identity: 'alice', data: expect.objectContaining({ kubeUser: 'custos:alice', action: expect.objectContaining({ verb: 'create', subresource: 'exec', name: 'box' }) }) })]);
    const shown = await s.tg.cli(['sessions', 'show', session.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/protocol\s+kubernetes/);
  });

  it('exec -it: a recorded shell in a pty, resizes as r events; custos play replays it', async () => {
    const started = new Date();
    const terminal = spawnInPty(kubectlPath(), ['exec', '-it', 'box', '--', 'sh'], { env: { PATH: process.env.PATH, KUBECONFIG: alice, HOME: s.dir }, cols: 90, rows: 25 });
    await terminal.waitFor(/[$#] $/);
    terminal.write('echo "through-$((6*7))"\r');
    await terminal.waitFor(/through-42/);
    terminal.resize(120, 40);
    terminal.write('stty size\r');
    await terminal.waitFor(/40 120/);
    terminal.write('exit 3\r');
    expect((await terminal.exited).exitCode).toBe(3);
    const session = await streamSession('exec', started);
    const cast = parseAsciicast(readFileSync(session.recordingPath!, 'utf8'));
    expect(cast.header.custos).toMatchObject({ pty: true, recordInput: true, login: 'custos:alice', target: 'k8s', kubernetes: { pod: 'box', command: ['sh'] } });
    expect(cast.events).toEqual(expect.arrayContaining([[expect.any(Number), 'r', '90x25'], [expect.any(Number), 'r', '120x40']]));
    expect(cast.events.filter((event) => event[1] === 'i').map((event) => event[2]).join('')).toContain('echo "through-$((6*7))"');
    expect(cast.events.at(-1)).toEqual([expect.any(Number), 'm', 'exit status 3']);
    const played = await s.tg.cli(['play', session.id, '--speed', '100', '--idle-limit', '0.1']);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain('through-42');
    expect(played.stderr).toContain('end of recording (exit status 3)');
  });

  it('exec -i: stdin reaches the command and its close is recorded', async () => {
    const started = new Date();
    const result = await s.kubectl(alice, ['exec', '-i', 'box', '--', 'sh', '-c', 'wc -c'], Buffer.alloc(50_000, 'y'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('50000');
    const session = await streamSession('exec', started);
    const recorded = readByteRecording(session.recordingPath!);
    expect(recorded.stdin.equals(Buffer.alloc(50_000, 'y'))).toBe(true);
    expect(recorded.frames.some((frame) => frame.stream === 'm' && frame.data.toString() === 'stdin closed')).toBe(true);
  });

  it('kubectl cp round-trips a binary file (exec of tar both ways), and the recordings hold its bytes', async () => {
    const started = new Date();
    const local = join(s.dir, 'cp');
    mkdirSync(local, { recursive: true });
    const blob = randomBytes(300 * 1024 + 7);
    writeFileSync(join(local, 'blob.bin'), blob);
    const into = await s.kubectl(alice, ['cp', join(local, 'blob.bin'), `box:${join(local, 'in-pod.bin')}`]);
    expect(into.code, into.stderr).toBe(0);
    expect(readFileSync(join(local, 'in-pod.bin')).equals(blob)).toBe(true);
    const back = await s.kubectl(alice, ['cp', `box:${join(local, 'in-pod.bin')}`, join(local, 'back.bin')]);
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(join(local, 'back.bin')).equals(blob)).toBe(true);
    // The tar streams went through byte-exact recordings: in (stdin, recorded for this role) and out (stdout).
    const recordings = (await s.tg.gateway.store.sessions.list({ identity: 'alice', protocol: 'kubernetes', since: started, limit: 100 }))
      .filter((row) => row.recordingPath?.endsWith('.bytes'))
      .map((row) => readByteRecording(row.recordingPath!));
    expect(recordings.some((recorded) => recorded.stdin.includes(blob))).toBe(true);
    expect(recordings.some((recorded) => recorded.stdout.includes(blob))).toBe(true);
  });

  it('attach is a recorded session of its own', async () => {
    const started = new Date();
    const attached = await s.kubectl(alice, ['attach', '-i', 'box'], 'echo attached-$((2+3))\nexit 0\n');
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stdout).toContain('attached-5');
    const session = await streamSession('attach', started);
    expect(session.details).toMatchObject({ kind: 'attach', pod: 'box' });
    const [channel] = await sessions().channels(session.id);
    expect(channel).toMatchObject({ kind: 'attach', exitCode: 0 });
  });

  it('port-forward is relayed, each connection to a pod port a row with its bytes, and audited', async () => {
    const echo = await startEchoServer();
    const podPort = echo.port;
    const { child, localPort } = await kubectlPortForward(['pod/box', `:${podPort}`], { PATH: process.env.PATH, KUBECONFIG: alice, HOME: s.dir });
    try {
      const payloads = [randomBytes(70_000), Buffer.from('second connection')];
      for (const payload of payloads) expect((await roundTrip(localPort, payload)).equals(payload)).toBe(true);
      const rows = await waitFor(async () => {
        const all = (await sessions().detail((await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', resource: 'pods/portforward' })).at(-1)!.sessionId))!.portForwards;
        return all.length === 2 && all.every((row) => row.closedAt) ? all : undefined;
      }, { what: 'both forwarded connections to be closed in the log' });
      expect(rows.map((row) => ({ kind: row.kind, destHost: row.destHost, destPort: row.destPort, bytesOut: row.bytesOut, bytesIn: row.bytesIn }))).toEqual(
        payloads.map((payload) => ({ kind: 'kubernetes', destHost: 'pod/default/box', destPort: podPort, bytesOut: payload.length, bytesIn: payload.length })),
      );
    } finally {
      child.kill();
      echo.close();
    }
    const row = await waitFor(async () => (await s.tg.gateway.store.kubeRequests.list({ identity: 'alice', resource: 'pods/portforward' })).find((entry) => entry.code !== null));
    expect(row).toMatchObject({ verb: 'create', code: 101, details: { ports: [podPort], connections: 2 } });
    const ended = await waitFor(async () => (await s.tg.gateway.store.audit.list({ type: 'kubernetes.port-forward.end', identity: 'alice' }))[0]);
    expect(ended.data).toMatchObject({ pod: 'default/box', ports: [podPort], connections: 2 });
  });

  it('a SPDY upgrade (older kubectl, or the fallback) gets a Status naming the kubectl to use', async () => {
    const token = await s.token('alice');
    const { connect: tlsConnect } = await import('node:tls');
    const url = new URL(s.gatewayUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: s.caPem, servername: 'localhost' }, () =>
        socket.write(
          `POST /k8s/k8s/api/v1/namespaces/default/pods/box/exec?command=true&stdout=true HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n`,
        ),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 BadRequest/);
    expect(answer).toContain('use kubectl 1.31 or later');
  });
});
