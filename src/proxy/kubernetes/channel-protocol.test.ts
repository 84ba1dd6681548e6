import { describe, expect, it } from 'vitest';
import {
  CHANNEL_PROTOCOL_V4,
  CHANNEL_PROTOCOL_V5,
  exitStatusJson,
  negotiateChannelProtocol,
  parseChannelMessage,
  parseExitStatus,
  parseResize,
  serializeChannelClose,
  serializeChannelData,
  serializeResize,
} from './channel-protocol.js';

describe('channel protocol negotiation', () => {
  it.each([
    [['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'], 'v5.channel.k8s.io'],
    [['v4.channel.k8s.io', 'v5.channel.k8s.io'], 'v5.channel.k8s.io'],
    [['channel.k8s.io', ' v4.channel.k8s.io'], 'v4.channel.k8s.io'],
    [['v3.channel.k8s.io', 'base64.channel.k8s.io'], undefined],
    [[], undefined],
  ])('%j → %s', (offered, expected) => {
    expect(negotiateChannelProtocol(offered)).toBe(expected);
  });
});

describe('channel messages', () => {
  it('round-trips every stream channel, binary-safe', () => {
    const payload = Buffer.from([0, 1, 2, 255, 254, 0x1b, 0x5b]);
    for (const channel of [0, 1, 2, 3, 4] as const) {
      const message = serializeChannelData(channel, payload);
      expect(message[0]).toBe(channel);
      expect(parseChannelMessage(message, CHANNEL_PROTOCOL_V4)).toEqual({ kind: 'data', channel, data: payload });
    }
  });

  it('a message with only the channel byte is an empty write', () => {
    expect(parseChannelMessage(Buffer.from([1]), CHANNEL_PROTOCOL_V5)).toEqual({ kind: 'data', channel: 1, data: Buffer.alloc(0) });
  });

  it('text is encoded as UTF-8, and a character split across two messages survives concatenation', () => {
    const whole = Buffer.from('añ€😀', 'utf8');
    for (let cut = 0; cut <= whole.length; cut++) {
      const first = parseChannelMessage(serializeChannelData(1, whole.subarray(0, cut)), CHANNEL_PROTOCOL_V5);
      const second = parseChannelMessage(serializeChannelData(1, whole.subarray(cut)), CHANNEL_PROTOCOL_V5);
      if (first.kind !== 'data' || second.kind !== 'data') throw new Error('expected data');
      expect(Buffer.concat([first.data, second.data]).toString('utf8')).toBe('añ€😀');
    }
    expect(serializeChannelData(0, 'é')).toEqual(Buffer.from([0, 0xc3, 0xa9]));
  });

  it('v5 close names the channel; v4 has no close', () => {
    expect(serializeChannelClose(0)).toEqual(Buffer.from([255, 0]));
    expect(parseChannelMessage(Buffer.from([255, 0]), CHANNEL_PROTOCOL_V5)).toEqual({ kind: 'close', channel: 0 });
    expect(() => parseChannelMessage(Buffer.from([255, 0]), CHANNEL_PROTOCOL_V4)).toThrow(/not part of v4/);
  });

  it.each([
    [Buffer.alloc(0), /empty message/],
    [Buffer.from([5, 1]), /unknown channel 5/],
    [Buffer.from([254]), /unknown channel 254/],
    [Buffer.from([255]), /exactly one channel/],
    [Buffer.from([255, 0, 1]), /exactly one channel/],
    [Buffer.from([255, 9]), /close of unknown channel 9/],
  ])('refuses %j', (message, error) => {
    expect(() => parseChannelMessage(message, CHANNEL_PROTOCOL_V5)).toThrow(error);
  });

  it('a message does not copy its payload', () => {
    const message = serializeChannelData(1, 'abc');
    const parsed = parseChannelMessage(message, CHANNEL_PROTOCOL_V5);
    if (parsed.kind !== 'data') throw new Error('expected data');
    expect(parsed.data.buffer).toBe(message.buffer);
  });
});

describe('resize', () => {
  it('parses what kubectl sends and round-trips', () => {
    expect(parseResize(Buffer.from('{"Width":120,"Height":40}'))).toEqual({ cols: 120, rows: 40 });
    const message = serializeResize({ cols: 80, rows: 24 });
    expect(message.subarray(1).toString()).toBe('{"Width":80,"Height":24}');
    expect(message[0]).toBe(4);
  });

  it.each(['', 'not json', '{"Width":80}', '{"Width":-1,"Height":2}', '{"Width":1.5,"Height":2}', '{"Width":70000,"Height":2}', 'null', '[80,24]'])('refuses %j', (text) => {
    expect(() => parseResize(Buffer.from(text))).toThrow(/resize message/);
  });
});

describe('exit status on the error channel', () => {
  it('Success is exit 0', () => {
    expect(parseExitStatus(Buffer.from('{"metadata":{},"status":"Success"}'))).toEqual({ exitCode: 0 });
  });

  it('reads the ExitCode cause of NonZeroExitCode, as kube-apiserver writes it', () => {
    const kubelet =
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}';
    expect(parseExitStatus(Buffer.from(kubelet))).toEqual({ exitCode: 3, reason: 'NonZeroExitCode', message: expect.stringContaining('exit code 3') });
  });

  it('a failure that is not an exit has no exit code but keeps the message', () => {
    const status = '{"metadata":{},"status":"Failure","message":"container not found (\\"nope\\")","reason":"BadRequest","code":400}';
    expect(parseExitStatus(Buffer.from(status))).toEqual({ exitCode: undefined, reason: 'BadRequest', message: 'container not found ("nope")' });
  });

  it('round-trips the Status a server writes', () => {
    for (const code of [0, 1, 2, 127, 255]) expect(parseExitStatus(Buffer.from(exitStatusJson(code, ['sh', '-c', `exit ${code}`]))).exitCode).toBe(code);
  });

  it.each(['', 'exit 3', '{"status":"Maybe"}'])('refuses %j', (text) => {
    expect(() => parseExitStatus(Buffer.from(text))).toThrow(/error channel/);
  });
});
