import { ApiError, currentViewer, get, post } from '../api.js';
import { mountByteView } from '../byte-view.js';
import { append, clear, facts, h, table, type Child } from '../dom.js';
import { duration, json, time } from '../format.js';
import { mountLive, mountReplay, type PlayerHandle, type ReplayIndex } from '../player.js';

interface Detail {
  session: Record<string, unknown> & { id: string; state: string; startedAt: string; endedAt: string | null };
  channels: Array<Record<string, unknown> & { channelId: number; hasRecording: boolean }>;
  fileOperations: Array<Record<string, unknown>>;
  portForwards: Array<Record<string, unknown>>;
  /** `asciicast`: a terminal, replayed; `bytes`: no terminal, shown per stream. */
  recordings: Array<{ channel: string; bytes: number | null; sha256: string | null; kind: string; command: string | null; format: 'asciicast' | 'bytes' | null }>;
}

interface Verification {
  recordings: Array<{ channel: string; status: string; actual: string | null; expected: string | null; chained: string | null; problem: string | null }>;
}

const text = (value: unknown): string => (value === null || value === undefined || value === '' ? '—' : String(value));

export function renderSession(main: HTMLElement, id: string): () => void {
  let player: PlayerHandle | null = null;
  const stop = () => {
    player?.dispose();
    player = null;
  };
  clear(main);
  append(main, h('p', { class: 'status' }, 'Loading…'));
  void (async () => {
    let detail: Detail;
    try {
      detail = await get<Detail>(`/api/sessions/${encodeURIComponent(id)}`);
    } catch (err) {
      clear(main);
      append(main, h('h1', {}, 'Session'), h('p', { class: 'error' }, err instanceof ApiError ? err.message : String(err)));
      return;
    }
    const s = detail.session;
    const incomplete = ((s.stats as { fileLogIncomplete?: Record<string, string> } | undefined)?.fileLogIncomplete ?? {}) as Record<string, string>;
    const base = `/api/sessions/${encodeURIComponent(s.id)}`;
    const integrity = h('div', { class: 'integrity', 'data-testid': 'integrity' }, 'Checking recordings against their digests…');
    const stage = h('div', { class: 'stage' });
    const picker = h('div', { class: 'picker' });

    const open = async (channel: string, mode: 'replay' | 'live' | 'bytes') => {
      stop();
      clear(stage);
      append(stage, h('p', { class: 'status' }, 'Loading recording…'));
      if (mode === 'bytes') {
        await mountByteView(stage, base, channel, s.state === 'live').catch((err: Error) => {
          clear(stage);
          append(stage, h('p', { class: 'error' }, err.message));
        });
        return;
      }
      if (mode === 'live') {
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        player = mountLive(stage, `${scheme}://${location.host}${base}/live?channel=${encodeURIComponent(channel)}`);
        return;
      }
      const indexUrl = `${base}/replay?channel=${encodeURIComponent(channel)}`;
      try {
        const index = await get<ReplayIndex>(indexUrl);
        player = mountReplay(stage, indexUrl, index);
      } catch (err) {
        clear(stage);
        append(stage, h('p', { class: 'error' }, (err as Error).message));
      }
    };

    for (const recording of detail.recordings) {
      const label = recording.channel === 'main' ? 'session' : `channel ${recording.channel} (${recording.kind}${recording.command ? `: ${recording.command}` : ''})`;
      const bytes = recording.format === 'bytes';
      const download = `${base}/recording?channel=${encodeURIComponent(recording.channel)}&download=1`;
      append(
        picker,
        h(
          'div',
          { class: 'recording' },
          h('strong', {}, label),
          bytes
            ? h('button', { type: 'button', onclick: () => void open(recording.channel, 'bytes') }, s.state === 'live' ? 'Show (refresh)' : 'Show')
            : h('button', { type: 'button', onclick: () => void open(recording.channel, 'replay') }, 'Replay'),
          s.state === 'live' && !bytes ? h('button', { type: 'button', onclick: () => void open(recording.channel, 'live') }, 'Watch live') : null,
          h('a', { href: download, download: '', class: 'button', 'data-testid': bytes ? 'download-bytes' : 'download-cast' }, bytes ? 'Download .bytes' : 'Download .cast'),
          recording.bytes !== null ? h('span', { class: 'hint' }, `${recording.bytes} bytes`) : null,
        ),
      );
    }

    clear(main);
    append(
      main,
      h('h1', {}, 'Session ', h('code', {}, s.id), ' ', h('span', { class: `state state-${s.state}` }, s.state)),
      s.state === 'live' && currentViewer()?.rights.terminate ? terminateControl(s.id) : null,
      h(
        'section',
        { class: 'evidence', 'data-testid': 'evidence' },
        h('h2', {}, 'Evidence'),
        facts([
          ['Identity', text(s.identityName)],
          ['Kind', text(s.identityKind)],
          ['Owner', text(s.identityOwner)],
          ['Credential', text(s.credentialId)],
          ['Protocol', text(s.protocol)],
          ['Target', `${text(s.target)} (${text(s.targetAddress)})`],
          ['Login', text(s.login ?? s.database)],
          ...(s.protocol === 'kubernetes' ? kubernetesFacts(s.id, s.details as Record<string, unknown> | null) : []),
          ['Client address', text(s.clientAddr)],
          ['Gateway node', text(s.node)],
          ['Approval ticket', text(s.ticket)],
          ['Access request', s.requestId ? h('a', { href: `/requests/${encodeURIComponent(String(s.requestId))}`, 'data-nav': true }, String(s.requestId)) : '—'],
          ['Grant', text(s.grantId)],
          ['Started', time(s.startedAt)],
          ['Ended', time(s.endedAt)],
          ['Duration', s.state === 'live' ? 'running' : duration(s.startedAt, s.endedAt)],
          ['Access expires', time(s.expiresAt as string | null)],
          ['End reason', text(s.endReason)],
          ...(s.recordingSha256 ? [['Session recording digest', text(s.recordingSha256)] as [string, string]] : []),
        ]),
        integrity,
      ),
      h('section', {}, h('h2', {}, 'Recordings'), detail.recordings.length ? picker : h('p', { class: 'empty' }, 'This session has no recording.'), stage),
      h(
        'section',
        {},
        h('h2', {}, 'Channels'),
        table(
          ['Channel', 'Kind', 'Command', 'Terminal', 'Started', 'Ended', 'Exit', 'Recording digest', 'Notes'],
          detail.channels.map((c) => [
            String(c.channelId),
            text(c.kind),
            c.command ? h('code', {}, String(c.command)) : '—',
            c.pty ? `${(c.pty as { term: string }).term} ${(c.pty as { cols: number }).cols}×${(c.pty as { rows: number }).rows}` : '—',
            time(c.startedAt as string),
            time(c.endedAt as string | null),
            c.exitSignal ? `signal ${String(c.exitSignal)}` : text(c.exitCode),
            h('code', { class: 'digest' }, text(c.recordingSha256)),
            // sftp / scp whose protocol could not be followed: the recording holds the bytes.
            incomplete[c.channelId] ? h('span', { class: 'error' }, `file log incomplete: ${incomplete[c.channelId]}`) : '',
          ]),
          { empty: 'No channels.' },
        ),
      ),
      h(
        'section',
        {},
        h('h2', {}, 'File operations'),
        table(
          ['Time', 'Operation', 'Path', 'To', 'Bytes', 'Result'],
          detail.fileOperations.map((f) => [time(f.time as string), text(f.operation), h('code', {}, text(f.path)), text(f.targetPath), text(f.bytes), f.result === 'error' ? `error: ${text(f.error)}` : 'ok']),
          { empty: 'No file operations.' },
        ),
      ),
      h(
        'section',
        {},
        h('h2', {}, 'Port forwards'),
        table(
          ['Opened', 'Kind', 'Destination', 'Origin', 'Allowed', 'Reason', 'Closed', 'Bytes in / out'],
          detail.portForwards.map((p) => [
            time(p.openedAt as string),
            text(p.kind),
            `${text(p.destHost)}:${text(p.destPort)}`,
            text(p.originAddr),
            p.allowed ? 'yes' : 'no',
            text(p.reason),
            time(p.closedAt as string | null),
            `${text(p.bytesIn)} / ${text(p.bytesOut)}`,
          ]),
          { empty: 'No port forwards.' },
        ),
      ),
      h('section', {}, h('h2', {}, 'Statistics'), h('pre', { class: 'json' }, json(s.stats ?? {}))),
    );

    void verify(base, integrity);
    const first = detail.recordings[0];
    if (first) void open(first.channel, first.format === 'bytes' ? 'bytes' : s.state === 'live' ? 'live' : 'replay');
  })();
  return stop;
}

/** Ends the live session (right `viewer.terminate`); the reason is shown to its operator. */
function terminateControl(id: string): HTMLElement {
  const reason = h('input', { type: 'text', placeholder: 'reason (shown to the operator)', 'data-testid': 'terminate-reason', maxlength: '1000' }) as HTMLInputElement;
  const status = h('span', { class: 'hint', 'data-testid': 'terminate-status' });
  const button = h('button', { type: 'button', 'data-testid': 'terminate' }, 'End session') as HTMLButtonElement;
  button.onclick = async () => {
    if (!reason.value.trim()) {
      status.textContent = 'Give a reason first.';
      return;
    }
    button.disabled = true;
    status.textContent = 'Ending…';
    try {
      const outcome = await post<{ ended: boolean; endReason: string | null }>(`/api/sessions/${encodeURIComponent(id)}/terminate`, { reason: reason.value.trim() });
      status.textContent = outcome.ended ? `Ended: ${outcome.endReason ?? ''}` : 'Requested; the gateway holding it has not ended it yet.';
    } catch (err) {
      button.disabled = false;
      status.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  return h('div', { class: 'terminate', 'data-testid': 'terminate-control' }, reason, button, status);
}

async function verify(base: string, target: HTMLElement): Promise<void> {
  try {
    const result = await get<Verification>(`${base}/verify`);
    clear(target);
    if (result.recordings.length === 0) {
      append(target, 'No recording to verify.');
      return;
    }
    const explain: Record<string, string> = {
      verified: 'matches its sealed digest',
      mismatch: 'DOES NOT match its sealed digest: the file was changed',
      missing: 'file missing',
      live: 'still being recorded (sealed when the session ends)',
      unsealed: 'no digest was sealed (session did not end cleanly)',
    };
    const rows: Child[][] = result.recordings.map((r) => [
      r.channel,
      h('span', { class: `verify verify-${r.status}`, 'data-testid': `verify-${r.channel}` }, r.status),
      explain[r.status] ?? r.status,
      h('code', { class: 'digest' }, r.actual ?? r.problem ?? '—'),
      h('code', { class: 'digest' }, r.chained ?? '—'),
    ]);
    append(target, table(['Recording', 'Integrity', '', 'File sha256 now', 'Digest in the audit chain'], rows));
  } catch (err) {
    clear(target);
    append(target, h('p', { class: 'error' }, `Verification failed: ${(err as Error).message}`));
  }
}

/** A Kubernetes session: what it reached (an exec's pod and command) and a link to its API requests. */
function kubernetesFacts(id: string, details: Record<string, unknown> | null): Array<[string, Child]> {
  const d = details ?? {};
  const rows: Array<[string, Child]> = [['Kubernetes', `${text(d.kind)}${d.pod ? ` ${text(d.namespace)}/${text(d.pod)}${d.container ? ` (${text(d.container)})` : ''}` : ''}`]];
  if (Array.isArray(d.command) && d.command.length > 0) rows.push(['Command', h('code', {}, d.command.join(' '))]);
  rows.push(['Requests', h('a', { href: `/kube-requests?session=${encodeURIComponent(id)}`, 'data-nav': true }, 'Kubernetes requests of this session')]);
  return rows;
}
