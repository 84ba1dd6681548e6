import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { waitFor } from '../../../test/helpers/wait.js';
import { exitStatusJson, serializeChannelClose, serializeChannelData, serializeResize, type ChannelProtocol } from './channel-protocol.js';
import { bridgeExec, type ExecBridge, type ExecBridgeOptions, type ExecTap } from './exec-bridge.js';

// The bridge between two real WebSocket connections on loopback: `kubectl` is the far end of
// the client pair, the API server the far end of the upstream pair.
let server: WebSocketServer;
const accepted: WebSocket[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: (offered) => [...offered][0] ?? false });
  server.on('connection', (socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.once('listening', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Two ends of one WebSocket connection: `dialer` opened it, `acceptor` is the server's side. */
async function connection(protocol: ChannelProtocol): Promise<{ dialer: WebSocket; acceptor: WebSocket }> {
  const count = accepted.length;
  const dialer = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, [protocol], { perMessageDeflate: false });
  await new Promise((resolve, reject) => dialer.once('open', resolve).once('error', reject));
  const acceptor = await waitFor(() => accepted[count], { what: 'the accepted socket' });
  return { dialer, acceptor };
}

interface Harness {
  kubectl: WebSocket;
  apiserver: WebSocket;
  bridge: ExecBridge;
  upstreamSide: WebSocket;
  events: string[];
  received: { kubectl: Buffer[]; apiserver: Buffer[] };
}

async function harness(protocol: ChannelProtocol, tapOverrides: Partial<ExecTap> = {}, options: Partial<ExecBridgeOptions> = {}): Promise<Harness> {
  const client = await connection(protocol);
  const upstream = await connection(protocol);
  const events: string[] = [];
  const received = { kubectl: [] as Buffer[], apiserver: [] as Buffer[] };
  const tap: ExecTap = {
    stdin: (data) => void events.push(`tap stdin ${data.toString()}`),
    stdout: (data) => void events.push(`tap stdout ${data.toString()}`),
    stderr: (data) => void events.push(`tap stderr ${data.toString()}`),
    resize: (size) => void events.push(`tap resize ${size.cols}x${size.rows}`),
    stdinClosed: () => void events.push('tap stdin closed'),
    exit: (status) => void events.push(`tap exit ${status.exitCode}`),
    ...tapOverrides,
  };
  client.dialer.on('message', (data: RawData) => {
    received.kubectl.push(data as Buffer);
    events.push(`kubectl got ${(data as Buffer)[0]}`);
  });
  upstream.acceptor.on('message', (data: RawData) => {
    received.apiserver.push(data as Buffer);
    events.push(`apiserver got ${(data as Buffer)[0]}`);
  });
  const bridge = bridgeExec({ client: client.acceptor, upstream: upstream.dialer, protocol, tap, ...options });
  return { kubectl: client.dialer, apiserver: upstream.acceptor, bridge, upstreamSide: upstream.dialer, events, received };
}

const closed = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => {
    if (socket.readyState === socket.CLOSED) return resolve({ code: -1, reason: 'already closed' });
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });

describe('bridgeExec', () => {
  it('relays every channel unchanged, tapping each before it is forwarded, and reports the exit status', async () => {
    const h = await harness('v5.channel.k8s.io');
    const stdin = serializeChannelData(0, 'ls\n');
    h.kubectl.send(serializeResize({ cols: 120, rows: 40 }));
    h.kubectl.send(stdin);
    h.kubectl.send(serializeChannelClose(0));
    await waitFor(() => h.received.apiserver.length === 3, { what: 'three messages upstream' });
    expect(h.received.apiserver[1]!.equals(stdin)).toBe(true);
    expect(h.received.apiserver[2]!.equals(Buffer.from([255, 0]))).toBe(true);

    h.apiserver.send(serializeChannelData(1, 'file\n'));
    h.apiserver.send(serializeChannelData(2, 'warning\n'));
    h.apiserver.send(serializeChannelData(3, exitStatusJson(2, ['ls'])));
    h.apiserver.close(1000);
    const end = await h.bridge.done;
    expect(end).toMatchObject({ by: 'upstream', code: 1000, exit: { exitCode: 2, reason: 'NonZeroExitCode' } });
    expect(await closed(h.kubectl)).toMatchObject({ code: expect.any(Number) });
    expect(h.received.kubectl.map((message) => message[0])).toEqual([1, 2, 3]);
    // Evidence first: each tap call precedes the delivery of what it describes.
    const order = (a: string, b: string) => expect(h.events.indexOf(a)).toBeLessThan(h.events.indexOf(b));
    order('tap resize 120x40', 'apiserver got 4');
    order('tap stdin ls\n', 'apiserver got 0');
    order('tap stdin closed', 'apiserver got 255');
    order('tap stdout file\n', 'kubectl got 1');
    order('tap stderr warning\n', 'kubectl got 2');
    expect(h.events).toContain('tap exit 2');
  });

  it('v4 has no close signal: a client sending one breaks the protocol and both sides are closed', async () => {
    const h = await harness('v4.channel.k8s.io');
    const kubectlClosed = closed(h.kubectl);
    const apiserverClosed = closed(h.apiserver);
    h.kubectl.send(serializeChannelClose(0));
    const end = await h.bridge.done;
    expect(end).toMatchObject({ by: 'bridge', code: 1008, violation: 'kubernetes stream: channel 255 (close) is not part of v4.channel.k8s.io' });
    expect((await kubectlClosed).code).toBe(1008);
    expect((await apiserverClosed).code).toBe(1008);
    expect(h.received.apiserver).toEqual([]);
  });

  it.each([
    ['a client writing stdout', 'kubectl', serializeChannelData(1, 'forged'), 'a client cannot write channel 1'],
    ['a client forging the exit status', 'kubectl', serializeChannelData(3, exitStatusJson(0)), 'a client cannot write channel 3'],
    ['an upstream writing stdin', 'apiserver', serializeChannelData(0, 'x'), 'an upstream cannot write channel 0'],
    ['an unknown channel', 'kubectl', Buffer.from([9, 1]), 'unknown channel 9'],
    ['a text message', 'kubectl', 'text', 'text message where binary was expected'],
    ['a resize that is not JSON', 'kubectl', Buffer.from([4, 0x7b]), 'a resize message is not JSON'],
  ] as const)('refuses %s', async (_name, from, message, violation) => {
    const h = await harness('v5.channel.k8s.io');
    h[from as 'kubectl' | 'apiserver'].send(message, { binary: typeof message !== 'string' });
    const end = await h.bridge.done;
    expect(end.violation).toContain(violation);
    expect(end.code).toBe(1008);
    expect(from === 'kubectl' ? h.received.apiserver : h.received.kubectl).toEqual([]);
  });

  it('stops reading the upstream while the tap is over its bound, and resumes on tapDrained', async () => {
    let full = true;
    const h = await harness('v5.channel.k8s.io', { stdout: () => !full });
    h.apiserver.send(serializeChannelData(1, 'first'));
    await waitFor(() => h.received.kubectl.length === 1, { what: 'the first chunk' });
    expect(h.upstreamSide.isPaused).toBe(true);
    for (let i = 0; i < 5; i++) h.apiserver.send(serializeChannelData(1, `more ${i}`));
    full = false;
    h.bridge.tapDrained();
    expect(h.upstreamSide.isPaused).toBe(false);
    await waitFor(() => h.received.kubectl.length === 6, { what: 'all chunks' });
    expect(h.received.kubectl.map((message) => message.subarray(1).toString())).toEqual(['first', 'more 0', 'more 1', 'more 2', 'more 3', 'more 4']);
    h.bridge.close(1000, 'done');
    await h.bridge.done;
  });

  it('stops reading a side while the other side has more than highWaterBytes queued, without losing order', async () => {
    const h = await harness('v5.channel.k8s.io', {}, { highWaterBytes: 1 });
    let pauses = 0;
    const pause = h.upstreamSide.pause.bind(h.upstreamSide);
    h.upstreamSide.pause = () => {
      pauses++;
      pause();
    };
    const chunks = Array.from({ length: 50 }, (_, i) => serializeChannelData(1, Buffer.alloc(10_000, i)));
    for (const chunk of chunks) h.apiserver.send(chunk);
    await waitFor(() => h.received.kubectl.length === chunks.length, { what: 'all chunks' });
    expect(h.received.kubectl.every((message, i) => message.equals(chunks[i]!))).toBe(true);
    expect(pauses).toBeGreaterThan(0);
    expect(h.upstreamSide.isPaused).toBe(false);
    h.bridge.close(1000, 'done');
  });

  it('the gateway ending the session closes both sides with its code and reason', async () => {
    const h = await harness('v5.channel.k8s.io');
    const kubectlClosed = closed(h.kubectl);
    const apiserverClosed = closed(h.apiserver);
    h.bridge.close(4001, 'session TTL reached');
    expect(await kubectlClosed).toEqual({ code: 4001, reason: 'session TTL reached' });
    expect(await apiserverClosed).toEqual({ code: 4001, reason: 'session TTL reached' });
    expect(await h.bridge.done).toMatchObject({ by: 'bridge', code: 4001, reason: 'session TTL reached' });
  });

  it('a client that vanishes ends the upstream connection too', async () => {
    const h = await harness('v5.channel.k8s.io');
    const apiserverClosed = closed(h.apiserver);
    h.kubectl.terminate();
    await apiserverClosed;
    expect(await h.bridge.done).toMatchObject({ by: 'client', code: 1006 });
  });
});
