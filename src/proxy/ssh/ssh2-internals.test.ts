import ssh2, { type ServerChannel } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { repairChannelWrites } from './ssh2-internals.js';
import { generateEd25519KeyPair } from '../../core/generated-keys.js';

const hostKey = generateEd25519KeyPair().private;

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup) fn();
  cleanup = [];
});

/**
 * A server that writes `stdoutBytes` to stdout while the client does not read, then a line
 * to stderr; returns what the client received once it starts reading.
 */
async function interleaved(repair: boolean): Promise<{ stdout: Buffer; stderr: string }> {
  const stdoutBytes = 6 * 1024 * 1024;
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (connection) => {
    connection.on('authentication', (ctx) => ctx.accept());
    connection.on('session', (accept) => {
      accept().on('exec', (acceptExec) => {
        const channel: ServerChannel = acceptExec();
        if (repair) repairChannelWrites(channel);
        const pattern = Buffer.alloc(64 * 1024);
        for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
        for (let sent = 0; sent < stdoutBytes; sent += pattern.length) channel.write(pattern);
        channel.stderr.write('the last word\n');
        channel.stderr.end();
        channel.exit(0);
        channel.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => server.close());
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, username: 'u', password: 'p' });
  });
  cleanup.push(() => client.end());
  return new Promise((resolve, reject) => {
    client.exec('x', (err, channel) => {
      if (err) return reject(err);
      const stdout: Buffer[] = [];
      let stderr = '';
      channel.pause();
      // Let the server fill the window and queue the rest before reading anything.
      setTimeout(() => channel.resume(), 300);
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => resolve({ stdout: Buffer.concat(stdout), stderr }), 5000);
      channel.on('close', () => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(stdout), stderr });
      });
    });
  });
}

describe('repairChannelWrites', () => {
  it('delivers stdout exactly once and stderr after it when both wait for the window', async () => {
    const { stdout, stderr } = await interleaved(true);
    expect(stdout.length).toBe(6 * 1024 * 1024);
    for (let i = 0; i < stdout.length; i += 4099) expect(stdout[i]).toBe((i % (64 * 1024)) % 251);
    expect(stderr).toBe('the last word\n');
  });

  it('is needed: without it ssh2 never sends the stderr write', async () => {
    const { stdout, stderr } = await interleaved(false);
    expect(stdout.length !== 6 * 1024 * 1024 || stderr !== 'the last word\n').toBe(true);
  });
});
