import { get } from './api.js';
import { append, clear, h } from './dom.js';

type Stream = 'stdout' | 'stderr' | 'stdin';

interface StreamSummary {
  bytes: number;
  sha256: string;
  printable: boolean;
  text?: string;
}

export interface ByteRecordingView {
  channel: string;
  kind: string;
  command: string | null;
  /** Size of the recording file. */
  bytes: number;
  header: { custos: { recordInput: boolean } };
  streams: Record<Stream, StreamSummary>;
  exit: { code: number | null; signal: string | null } | null;
  trailing: number;
}

/**
 * A channel without a terminal: each stream as text when it is printable (and small enough
 * to show), otherwise "binary, N bytes, sha256 …" with a download of its exact bytes.
 */
export async function mountByteView(container: HTMLElement, base: string, channel: string, live: boolean): Promise<void> {
  const query = `?channel=${encodeURIComponent(channel)}`;
  const view = await get<ByteRecordingView>(`${base}/bytes${query}`);
  const exit = view.exit ? (view.exit.signal ? `exit signal ${view.exit.signal}` : `exit status ${String(view.exit.code)}`) : live ? 'still running' : 'no exit status';
  const section = h('div', { class: 'bytes-view', 'data-testid': 'bytes-view' });
  append(section, h('p', { class: 'hint' }, `No terminal: the channel's bytes as they passed, per stream · ${exit} · recording ${view.bytes} bytes`));
  for (const name of ['stdout', 'stderr', 'stdin'] as const) {
    const stream = view.streams[name];
    const download = h('a', { href: `${base}/bytes/${name}${query}`, download: '', class: 'button', 'data-testid': `download-${name}` }, `Download ${name}`);
    let body: HTMLElement;
    if (name === 'stdin' && !view.header.custos.recordInput) body = h('p', { class: 'empty' }, 'not recorded (the role does not record input)');
    else if (stream.bytes === 0) body = h('p', { class: 'empty' }, 'empty');
    else if (stream.text !== undefined) body = h('pre', { class: `transcript stream-${name}` }, stream.text);
    else {
      const what = stream.printable ? 'text too long to show here' : 'binary';
      body = h('p', { class: 'binary' }, `${what}, ${stream.bytes} bytes, sha256 `, h('code', { class: 'digest' }, stream.sha256), ' ', download);
    }
    append(section, h('div', { class: 'stream', 'data-testid': `stream-${name}` }, h('h3', {}, name), body));
  }
  if (view.trailing) append(section, h('p', { class: 'hint' }, `${view.trailing} bytes after the last complete frame (still being written)`));
  clear(container);
  append(container, section);
}
