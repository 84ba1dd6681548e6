import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseExitStatus } from '../../src/proxy/kubernetes/channel-protocol.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver/index.js';
import { kubectlPath, runKubectl } from '../helpers/kubectl.js';
import { kubectlPortForward, roundTrip, startEchoServer } from '../helpers/port-forward.js';
import { spawnInPty } from '../helpers/pty.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// exec, cp and port-forward through the test API server's WebSocket endpoints, with real kubectl.
describe('test Kubernetes API server streams with kubectl', () => {
  let server: KubeApiServer;
  let dir: ReturnType<typeof makeTempDir>;
  let kubeconfig: string;
  const env = () => ({ PATH: process.env.PATH, KUBECONFIG: kubeconfig, HOME: dir.path });
  const kubectl = (args: string[], input?: string | Buffer) => runKubectl(args, { kubeconfig, home: dir.path, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    dir = makeTempDir('kstr-');
    server = await startKubeApiServer({ execCwd: dir.path });
    kubeconfig = server.writeKubeconfig({ token: server.adminToken });
    server.create('v1', 'pods', { metadata: { name: 'shell', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  });
  afterAll(async () => {
    await server?.close();
    dir?.remove();
  });

  it('exec without a tty passes stdout, stderr and the exit code over v5.channel.k8s.io', async () => {
    const result = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('to-stdout\n');
    expect(result.stderr).toBe('to-stderr\ncommand terminated with exit code 3\n');
    const request = server.requests.find((entry) => entry.info.subresource === 'exec')!;
    expect(request).toMatchObject({ status: 101, websocketProtocol: 'v5.channel.k8s.io', info: { verb: 'create', name: 'shell' } });
    expect(request.headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io');
    expect(server.execs.at(-1)).toMatchObject({ command: ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3'], tty: false, stdin: false, exitCode: 3 });

    const ok = await kubectl(['exec', 'shell', '--', 'true']);
    expect(ok.code).toBe(0);
    const missing = await kubectl(['exec', 'shell', '--', 'no-such-program']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('executable file not found in $PATH');
  });

  it('exec -i reads stdin until kubectl closes it with the v5 close signal', async () => {
    const result = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'wc -c; echo done'], Buffer.alloc(100_000, 'x'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split(/\s+/)).toEqual(['100000', 'done']);
    expect(server.execs.at(-1)).toMatchObject({ stdin: true, stdinClosed: true, exitCode: 0 });
  });

  it('exec -it runs a real shell in a pty, honours resizes and returns its exit code', async () => {
    const terminal = spawnInPty(kubectlPath(), ['exec', '-it', 'shell', '--', 'sh'], { env: env(), cols: 91, rows: 21 });
    await terminal.waitFor(/[$#] $/);
    terminal.write('stty size; echo "host=$HOSTNAME"\r');
    await terminal.waitFor(/21 91[\s\S]*host=shell/);
    terminal.resize(120, 40);
    terminal.write('stty size\r');
    await terminal.waitFor(/40 120/);
    terminal.write('exit 7\r');
    expect((await terminal.exited).exitCode).toBe(7);
    const exec = server.execs.at(-1)!;
    expect(exec).toMatchObject({ tty: true, stdin: true, stdout: true, stderr: false, exitCode: 7 });
    expect(exec.resizes).toEqual(expect.arrayContaining([{ cols: 91, rows: 21 }, { cols: 120, rows: 40 }]));
  });

  it('attach joins the container process (its command) over the same protocol', async () => {
    server.create('v1', 'pods', {
      metadata: { name: 'reader', namespace: 'default' },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'read line; echo "got $line"; exit 4'], stdin: true }] },
    });
    const result = await kubectl(['attach', '-i', 'reader'], 'hello\n');
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('got hello\n');
    const request = server.requests.find((entry) => entry.info.subresource === 'attach')!;
    expect(request).toMatchObject({ status: 101, query: 'container=main&stderr=true&stdin=true&stdout=true', info: { verb: 'create', name: 'reader' } });
  });

  it('speaks v4.channel.k8s.io to a client that offers only it: exit status on channel 3, then a normal close', async () => {
    const socket = new WebSocket(`wss://127.0.0.1:${server.port}/api/v1/namespaces/default/pods/shell/exec?command=sh&command=-c&command=printf+v4%3B+exit+6&stdout=true`, ['v4.channel.k8s.io'], {
      ca: server.caPem,
      headers: { Authorization: `Bearer ${server.adminToken}` },
    });
    const messages: Buffer[] = [];
    socket.on('message', (data: Buffer) => messages.push(data));
    const code = await new Promise<number>((resolve, reject) => {
      socket.on('close', resolve);
      socket.on('error', reject);
    });
    expect(socket.protocol).toBe('v4.channel.k8s.io');
    expect(code).toBe(1000);
    expect(messages.map((message) => message[0])).toEqual([1, 3]);
    expect(messages[0]!.subarray(1).toString()).toBe('v4');
    expect(parseExitStatus(messages[1]!.subarray(1))).toMatchObject({ exitCode: 6, reason: 'NonZeroExitCode' });
  });

  it('kubectl cp copies a binary file into the pod and back, byte for byte', async () => {
    const local = join(dir.path, 'cp');
    mkdirSync(local, { recursive: true });
    const blob = randomBytes(256 * 1024 + 17);
    writeFileSync(join(local, 'blob.bin'), blob);
    const into = await kubectl(['cp', join(local, 'blob.bin'), `shell:${join(local, 'in-pod.bin')}`]);
    expect(into.code, into.stderr).toBe(0);
    expect(readFileSync(join(local, 'in-pod.bin')).equals(blob)).toBe(true);
    expect(server.execs.at(-1)).toMatchObject({ command: ['tar', '-xmf', '-', '-C', local], stdinClosed: true, exitCode: 0 });

    const back = await kubectl(['cp', `shell:${join(local, 'in-pod.bin')}`, join(local, 'back.bin')]);
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(join(local, 'back.bin')).equals(blob)).toBe(true);
    expect(server.execs.at(-1)).toMatchObject({ command: ['tar', 'cf', '-', join(local, 'in-pod.bin')], exitCode: 0 });
  });

  it('port-forward tunnels SPDY over WebSocket to the pod port, one stream pair per connection', async () => {
    const echo = await startEchoServer();
    const podPort = echo.port;
    const { child, localPort } = await kubectlPortForward(['pod/shell', `:${podPort}`], env());
    try {
      for (const payload of [randomBytes(70_000), Buffer.from('second connection')]) expect((await roundTrip(localPort, payload)).equals(payload)).toBe(true);
      const request = server.requests.find((entry) => entry.info.subresource === 'portforward')!;
      expect(request).toMatchObject({ status: 101, websocketProtocol: 'SPDY/3.1+portforward.k8s.io', query: '', info: { verb: 'create' } });
      expect(request.headers['sec-websocket-protocol']).toBe('SPDY/3.1+portforward.k8s.io');
      expect(server.portForwards.at(-1)?.requests).toEqual([
        { port: podPort, requestId: '0' },
        { port: podPort, requestId: '1' },
      ]);
    } finally {
      child.kill();
      echo.close();
    }
  });
});
