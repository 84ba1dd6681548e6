/**
 * What operators read on their terminal when Custos refuses or ends something. Every line
 * starts with `custos:` so it cannot be mistaken for output of the target.
 */
export const messages = {
  accessDenied: (reason: string) => `custos: access denied: ${reason}`,
  unknownKeys: (fingerprints: string[]) =>
    fingerprints.length === 0
      ? 'custos: access denied: Custos accepts SSH public keys only, and none was offered'
      : `custos: access denied: no identity holds the SSH key${fingerprints.length > 1 ? 's' : ''} offered (${fingerprints.join(', ')}); ask an administrator to add your public key to your identity`,
  unavailable: 'custos: access denied: the gateway cannot record this session right now (audit log unavailable); try again later',
  upstreamFailed: (target: string, detail: string) => `custos: cannot open the session on ${target}: ${detail}`,
  recordingFailed: (detail: string) =>
    `custos: this session is ended because it can no longer be recorded (${detail}); Custos does not let sessions run unrecorded`,
  cannotRecord: (detail: string) => `custos: this session cannot be recorded (${detail}); Custos does not run sessions unrecorded`,
  targetClosed: (target: string) => `custos: the connection to ${target} was closed`,
  agentRefused:
    'custos: agent forwarding is refused: your agent would be usable by anyone with root on the target, who could sign in as you, to Custos included',
  x11Refused: 'custos: X11 forwarding is refused: it would give the target your display and keyboard, in a channel Custos cannot record',
  tooManyChannels: (limit: number) =>
    `custos: too many channels open on this connection (at most ${limit} at once, ssh.maxChannelsPerConnection); close one and retry`,
  subsystemRefused: (name: string) => `custos: the "${name}" subsystem is not available through Custos (only sftp is)`,
} as const;
