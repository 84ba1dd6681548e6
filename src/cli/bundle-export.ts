import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ChainedAuditEvent } from '../core/audit-chain.js';
import type { GatewayConfig } from '../core/config.js';
import { isSafeName, TarWriter } from '../core/tar.js';
import { VERSION } from '../core/version.js';
import { auditRecordLine } from '../recorder/audit-record.js';
import { BUNDLE_FILES, BUNDLE_FORMAT, BUNDLE_README, type BundleFile, type BundleFileKind, type BundleManifest } from '../recorder/bundle/bundle-manifest.js';
import { kubeRequestJsonLine, type ExportableKubeRequest } from '../recorder/kube-request-export.js';
import { queryJsonLine, type ExportableQuery } from '../recorder/query-export.js';
import { locateRecordingFile } from '../recorder/recording-location.js';
import type { Story } from '../recorder/story/story-model.js';
import type { SessionDetail } from '../store/repositories/sessions.js';
import { CliError } from './errors.js';
import { withCliOperations } from './run-operation.js';
import { storyHtml } from './story/story-html.js';
import { storyJsonl } from './story/story-jsonl.js';

export interface ExportScope {
  identity: string | null;
  since: string;
  until?: string;
}

type Run = (op: string, args: Record<string, unknown>) => Promise<unknown>;

/**
 * `custos export`: reads the scope through the running gateway (or the store), copies the
 * recordings from disk itself (only files inside the recordings directory), and writes the
 * bundle to `<out>.partial`, renamed to `out` once complete (mode 0600: it is evidence).
 */
export async function exportBundle(config: GatewayConfig, scope: ExportScope, out: string): Promise<BundleManifest> {
  const partial = `${out}.partial`;
  const file = createWriteStream(partial, { mode: 0o600 });
  const gzip = createGzip();
  gzip.pipe(file);
  const tar = new TarWriter(gzip);
  const files: BundleFile[] = [];
  const add = async (path: string, kind: BundleFileKind, data: string | Buffer) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await tar.addBuffer(path, bytes);
    files.push({ path, kind, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  };
  try {
    const manifest = await withCliOperations(config, async (run) => {
      const story = (await run('story', { identity: scope.identity, all: scope.identity === null, since: scope.since, until: scope.until })) as Story;
      await add(BUNDLE_FILES.readme, 'readme', BUNDLE_README);
      await add(BUNDLE_FILES.storyJsonl, 'story', storyJsonl(story));
      const sessionIds = [...new Set(story.entries.filter((e) => e.kind === 'session.start').map((e) => e.session_id!))];
      const details = await sessionDetails(run, sessionIds);
      const recordings = recordingsOf(details);
      await add(BUNDLE_FILES.storyHtml, 'story', storyHtml(story, { recordingHref: (entry) => (entry.session_id && entry.recording ? recordingPath(entry.session_id, entry.recording.file) : null) }));
      await add(BUNDLE_FILES.sessions, 'sessions', details.map((detail) => JSON.stringify(detail)).join('\n') + (details.length ? '\n' : ''));
      const statements = await queryLines(run, details);
      await add(BUNDLE_FILES.queries, 'queries', statements.text);
      const kubeRequests = await kubeRequestLines(run, details);
      await add(BUNDLE_FILES.kubeRequests, 'kube-requests', kubeRequests.text);
      const chain = await chainSegment(run, story);
      const inScope = new Set(story.entries.flatMap((entry) => entry.audit_seqs));
      const scoped = chain.filter((event) => inScope.has(event.seq));
      await add(BUNDLE_FILES.audit, 'audit', scoped.map(auditRecordLine).join(''));
      await add(BUNDLE_FILES.chain, 'chain', chain.map(auditRecordLine).join(''));
      for (const recording of recordings) files.push(await addRecording(tar, config, recording));
      const head = chain.at(-1);
      const result: BundleManifest = {
        format: BUNDLE_FORMAT,
        created_at: new Date().toISOString(),
        created_by: `os:${userInfo().username}@${hostname()}`,
        custos_version: VERSION,
        scope: { identity: scope.identity, since: story.window.since, until: story.window.until },
        chain: head ? { from_seq: chain[0]!.seq, from_prev_hash: chain[0]!.prevHash, head: { seq: head.seq, hash: head.hash } } : null,
        counts: {
          sessions: details.length,
          statements: statements.count,
          kube_requests: kubeRequests.count,
          audit_events: scoped.length,
          chain_events: chain.length,
          recordings: recordings.length,
          story_entries: story.entries.length,
        },
        files: [...files],
      };
      await add(BUNDLE_FILES.checksums, 'checksums', files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
      result.files = [...files];
      await tar.addBuffer(BUNDLE_FILES.manifest, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
      return result;
    });
    await tar.finish();
    gzip.end();
    await finished(file);
    await rename(partial, out);
    return manifest;
  } catch (err) {
    gzip.destroy();
    file.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}

async function sessionDetails(run: Run, ids: string[]): Promise<SessionDetail[]> {
  const details: SessionDetail[] = [];
  for (let i = 0; i < ids.length; i += 100) details.push(...((await run('sessions.details', { ids: ids.slice(i, i + 100) })) as SessionDetail[]));
  return details;
}

interface RecordingToCopy {
  session: string;
  channel: number | 'main';
  path: string;
}

/** Each recording file of the sessions once, by channel; the session's own one only if no channel names it. */
function recordingsOf(details: SessionDetail[]): RecordingToCopy[] {
  const found: RecordingToCopy[] = [];
  for (const { session, channels } of details) {
    const seen = new Set<string>();
    for (const channel of channels) {
      if (!channel.recordingPath || seen.has(channel.recordingPath)) continue;
      seen.add(channel.recordingPath);
      found.push({ session: session.id, channel: channel.channelId, path: channel.recordingPath });
    }
    if (session.recordingPath && !seen.has(session.recordingPath)) found.push({ session: session.id, channel: 'main', path: session.recordingPath });
  }
  return found;
}

function recordingPath(session: string, file: string): string {
  return `recordings/${session}/${basename(file)}`;
}

async function addRecording(tar: TarWriter, config: GatewayConfig, recording: RecordingToCopy): Promise<BundleFile> {
  const path = recordingPath(recording.session, recording.path);
  if (!isSafeName(path)) throw new CliError('failed', `session ${recording.session}: the recording name ${recording.path} cannot be stored in a bundle`);
  let located;
  try {
    located = await locateRecordingFile(config.recordings.dir, recording.path);
  } catch (err) {
    throw new CliError('failed', `session ${recording.session}: recording ${recording.path}: ${(err as Error).message}; nothing was exported`);
  }
  // A live recording grows while it is copied: the bundle holds it as it was when listed.
  const hash = createHash('sha256');
  const chunks = (async function* () {
    if (located.size === 0) return;
    for await (const chunk of createReadStream(located.realPath, { end: located.size - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      yield chunk;
    }
  })();
  await tar.addStream(path, located.size, chunks);
  return { path, kind: 'recording', bytes: located.size, sha256: hash.digest('hex'), session: recording.session, channel: recording.channel };
}

/** Every statement of the database sessions, oldest first, in the `custos queries` JSON lines format. */
async function queryLines(run: Run, details: SessionDetail[]): Promise<{ text: string; count: number }> {
  const lines: string[] = [];
  for (const { session } of details) {
    if (session.protocol !== 'postgres') continue;
    let afterId = 0;
    while (true) {
      const page = (await run('queries.list', { session: session.id, afterId, limit: 5000 })) as ExportableQuery[];
      lines.push(...page.map(queryJsonLine));
      if (page.length < 5000) break;
      afterId = page.at(-1)!.id;
    }
  }
  return { text: lines.join(''), count: lines.length };
}

/** Every Kubernetes API request of the Kubernetes sessions, oldest first, in the `custos kube-requests` JSON lines format. */
async function kubeRequestLines(run: Run, details: SessionDetail[]): Promise<{ text: string; count: number }> {
  const lines: string[] = [];
  for (const { session } of details) {
    if (session.protocol !== 'kubernetes') continue;
    let afterId = 0;
    while (true) {
      const page = (await run('kube-requests.list', { session: session.id, afterId, limit: 5000 })) as ExportableKubeRequest[];
      lines.push(...page.map(kubeRequestJsonLine));
      if (page.length < 5000) break;
      afterId = page.at(-1)!.id;
    }
  }
  return { text: lines.join(''), count: lines.length };
}

/** The chain from the first event the story cites to the head, every event (the links need them all). */
async function chainSegment(run: Run, story: Story): Promise<ChainedAuditEvent[]> {
  const cited = story.entries.flatMap((entry) => entry.audit_seqs);
  const from = cited.length ? cited.reduce((a, b) => Math.min(a, b)) : (story.head?.seq ?? 1);
  const events: ChainedAuditEvent[] = [];
  let afterSeq = from - 1;
  while (true) {
    const page = (await run('audit.page', { afterSeq, limit: 5000 })) as ChainedAuditEvent[];
    events.push(...page);
    if (page.length < 5000) return events;
    afterSeq = page.at(-1)!.seq;
  }
}
