import { describe, expect, it } from 'vitest';
import type { SessionChannelRow, SessionDetail, SessionRow } from '../store/repositories/sessions.js';
import { pickRecording, recordingsOf } from './session-access.js';

const DIR = '/data/recordings/2025-03-07';

function channel(channelId: number, kind: string, recordingPath: string | null, sha256: string | null = null): SessionChannelRow {
  return {
    sessionId: 'ses_1',
    channelId,
    kind,
    command: kind === 'exec' ? 'uptime' : null,
    pty: null,
    startedAt: new Date(0),
    endedAt: null,
    exitCode: null,
    exitSignal: null,
    recordingPath,
    recordingBytes: sha256 ? 100 : null,
    recordingSha256: sha256,
  } as SessionChannelRow;
}

function detail(recordingPath: string | null, channels: SessionChannelRow[]): SessionDetail {
  const session = { id: 'ses_1', recordingPath, recordingBytes: recordingPath ? 100 : null, recordingSha256: recordingPath ? 'row' : null } as SessionRow;
  return { session, channels, fileOperations: [], portForwards: [] };
}

describe('recordingsOf', () => {
  it('lists the SSH layout once: the main recording is channel 0, named by the session row too', () => {
    const ssh = detail(`${DIR}/ses_1.0.cast`, [channel(0, 'shell', `${DIR}/ses_1.0.cast`, 'a'), channel(1, 'sftp', null), channel(2, 'exec', `${DIR}/ses_1.2.cast`, 'b')]);
    expect(recordingsOf(ssh).map(({ channel: id, kind, main }) => ({ id, kind, main }))).toEqual([
      { id: '0', kind: 'shell', main: true },
      { id: '2', kind: 'exec', main: false },
    ]);
    expect(pickRecording(ssh, undefined).channel).toBe('0');
    expect(pickRecording(ssh, 'main').channel).toBe('0');
    expect(pickRecording(ssh, '2').path).toBe(`${DIR}/ses_1.2.cast`);
    expect(() => pickRecording(ssh, '1')).toThrow(/no recording for channel 1/);
  });

  it('puts the main recording first when it is not the lowest channel', () => {
    const later = detail(`${DIR}/ses_1.3.cast`, [channel(2, 'exec', `${DIR}/ses_1.2.cast`), channel(3, 'shell', `${DIR}/ses_1.3.cast`)]);
    expect(recordingsOf(later).map((recording) => recording.channel)).toEqual(['3', '2']);
  });

  it('lists a session recording that is no channel\'s as `main`', () => {
    const own = detail(`${DIR}/ses_1.cast`, [channel(0, 'exec', `${DIR}/ses_1.0.cast`)]);
    expect(recordingsOf(own).map(({ channel: id, sha256, main }) => ({ id, sha256, main }))).toEqual([
      { id: 'main', sha256: 'row', main: true },
      { id: '0', sha256: null, main: false },
    ]);
    expect(pickRecording(own, 'main').path).toBe(`${DIR}/ses_1.cast`);
  });

  it('has no recording for a session without terminal channels', () => {
    const none = detail(null, [channel(0, 'sftp', null)]);
    expect(recordingsOf(none)).toEqual([]);
    expect(() => pickRecording(none, undefined)).toThrow(/has no recording/);
    expect(() => pickRecording(none, 'main')).toThrow(/no recording for channel main/);
    expect(() => pickRecording(none, '../x')).toThrow(/expected "main" or a channel number/);
  });
});
