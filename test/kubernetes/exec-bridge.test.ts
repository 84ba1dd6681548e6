import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecFront, type ExecFront } from '../helpers/kube-exec-front.js';
import { startKubeApiServer, type KubeApiServer } from '../helpers/kube-apiserver/index.js';
import { kubectlPath, runKubectl } from '../helpers/kubectl.js';
import { spawnInPty } from '../helpers/pty.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

// Real kubectl → an HTTPS front that relays exec with bridgeExec → the test API server.
describe('exec bridge between kubectl and an API server', () => {
  let server: KubeApiServer;
  let front: ExecFront;
  let dir: ReturnType<typeof makeTempDir>;
  let kubeconfig: string;
  const kubectl = (args: string[], input?: string | Buffer) => runKubectl(args, { kubeconfig, home: dir.path, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    dir = makeTempDir('kbr-');
    server = await startKubeApiServer({ execCwd: dir.path });
    front = await startExecFront(server);
    kubeconfig = front.writeKubeconfig(join(dir.path, 'kubeconfig'));
    server.create('v1', 'pods', { metadata: { name: 'box', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  });
  afterAll(async () => {
    await front?.close();
    await server?.close();
    dir?.remove();
  });

  it('non-tty exec: output, stderr and exit code pass through; the tap sees them and the exit status', async () => {
    const result = await kubectl(['exec', 'box', '--', 'sh', '-c', 'printf out; printf err >&2; exit 5']);
    expect(result).toMatchObject({ code: 5, stdout: 'out', stderr: 'errcommand terminated with exit code 5\n' });
    const session = front.sessions.at(-1)!;
    await waitFor(() => session.end, { what: 'the bridge to end' });
    expect(Buffer.concat(session.stdout).toString()).toBe('out');
    expect(Buffer.concat(session.stderr).toString()).toBe('err');
    expect(session.exit).toMatchObject({ exitCode: 5, reason: 'NonZeroExitCode' });
    expect(session.end).toMatchObject({ by: 'upstream', code: 1000 });
    // The upstream saw the gateway's credentials and the protocol kubectl asked for.
    const upstreamExec = server.requests.filter((request) => request.info.subresource === 'exec').at(-1)!;
    expect(upstreamExec).toMatchObject({ websocketProtocol: 'v5.channel.k8s.io', user: { name: 'admin' } });

    const success = await kubectl(['exec', 'box', '--', 'true']);
    expect(success.code).toBe(0);
    const last = front.sessions.at(-1)!;
    await waitFor(() => last.end, { what: 'the bridge to end' });
    expect(last.exit).toEqual({ exitCode: 0 });
  });

  it('exec -it: a shell in a pty through the bridge; the tap sees keystrokes, output and resizes', async () => {
    const terminal = spawnInPty(kubectlPath(), ['exec', '-it', 'box', '--', 'sh'], { env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, HOME: dir.path }, cols: 81, rows: 23 });
    await terminal.waitFor(/[$#] $/);
    terminal.write('echo "bridged-$((6*7))"\r');
    await terminal.waitFor(/bridged-42/);
    terminal.resize(132, 43);
    terminal.write('stty size\r');
    await terminal.waitFor(/43 132/);
    terminal.write('exit 3\r');
    expect((await terminal.exited).exitCode).toBe(3);
    const session = front.sessions.at(-1)!;
    await waitFor(() => session.end, { what: 'the bridge to end' });
    expect(session.resizes).toEqual(expect.arrayContaining([{ cols: 81, rows: 23 }, { cols: 132, rows: 43 }]));
    expect(Buffer.concat(session.stdin).toString()).toContain('echo "bridged-$((6*7))"\r');
    expect(Buffer.concat(session.stdout).toString()).toContain('bridged-42');
    expect(session.exit?.exitCode).toBe(3);
    expect(server.execs.at(-1)?.resizes).toEqual(expect.arrayContaining([{ cols: 132, rows: 43 }]));
  });

  it('kubectl cp round-trips a binary file through the bridge; the tap holds the tar stream', async () => {
    const local = join(dir.path, 'cp');
    mkdirSync(local, { recursive: true });
    const blob = randomBytes(512 * 1024 + 3);
    writeFileSync(join(local, 'blob.bin'), blob);
    const into = await kubectl(['cp', join(local, 'blob.bin'), `box:${join(local, 'copied.bin')}`]);
    expect(into.code, into.stderr).toBe(0);
    expect(readFileSync(join(local, 'copied.bin')).equals(blob)).toBe(true);
    const upload = front.sessions.at(-1)!;
    await waitFor(() => upload.end, { what: 'the upload to end' });
    expect(upload.stdinClosed).toBe(true);
    expect(Buffer.concat(upload.stdin).includes(blob.subarray(0, 4096))).toBe(true);

    const back = await kubectl(['cp', `box:${join(local, 'copied.bin')}`, join(local, 'back.bin')]);
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(join(local, 'back.bin')).equals(blob)).toBe(true);
    const download = front.sessions.at(-1)!;
    await waitFor(() => download.end, { what: 'the download to end' });
    expect(Buffer.concat(download.stdout).length).toBeGreaterThan(blob.length);
    expect(download.exit).toEqual({ exitCode: 0 });
  });

  it('plain requests pass the front unchanged (kubectl get through it)', async () => {
    const result = await kubectl(['get', 'pods', '-o', 'name']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('pod/box\n');
  });
});
