import type { Metrics } from '../../core/metrics.js';
import type { RecordingWriter } from '../../recorder/recording-writer.js';
import type { ProxyContext } from '../context.js';

export interface SshMetrics {
  connections(): void;
  authFailures(): void;
  channels(kind: string): void;
  recordingFailures(): void;
  sessionsActive(by: number): void;
  bytes(direction: 'to_client' | 'from_client', by: number): void;
}

export function sshMetrics(metrics: Metrics): SshMetrics {
  const connections = metrics.counter('custos_ssh_connections_total', 'SSH connections accepted by the gateway');
  const authFailures = metrics.counter('custos_ssh_auth_failures_total', 'SSH connections that ended without authenticating');
  const channels = metrics.counter('custos_ssh_channels_total', 'SSH channels opened, by kind');
  const recordingFailures = metrics.counter('custos_recording_failures_total', 'Recordings that could not be written (their sessions were ended)');
  const bytes = metrics.counter('custos_ssh_bytes_total', 'Bytes relayed in SSH session channels, by direction');
  const active = metrics.gauge('custos_ssh_sessions_active', 'SSH sessions currently open');
  return {
    connections: () => connections(),
    authFailures: () => authFailures(),
    channels: (kind) => channels({ kind }),
    recordingFailures: () => recordingFailures(),
    sessionsActive: (by) => active.add(by),
    bytes: (direction, by) => bytes({ direction }, by),
  };
}

/** What every SSH connection handler is given by the listener. */
export interface SshServices {
  context: ProxyContext;
  writer: RecordingWriter;
  metrics: SshMetrics;
}
