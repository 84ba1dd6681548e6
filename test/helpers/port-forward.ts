import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { kubectlPath } from './kubectl.js';

/** A TCP echo server on 127.0.0.1: what a pod port forwards to in the port-forward tests. */
export async function startEchoServer(): Promise<{ port: number; close(): void }> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** `kubectl port-forward <args>` running, with the local port it announced. */
export async function kubectlPortForward(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; localPort: number }> {
  const child = spawn(kubectlPath(), ['port-forward', ...args], { env });
  let output = '';
  const localPort = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', () => reject(new Error(`kubectl port-forward ended:\n${output}`)));
  });
  return { child, localPort };
}

/** Connects to a local port, sends `payload`, half-closes, and resolves with everything that came back. */
export function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}
