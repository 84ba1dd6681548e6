/**
 * How fast a long recording starts playing in the viewer, in headless Chromium.
 *
 * Writes a 1-hour asciicast of ~50 MB, then measures, from navigation to the first frame
 * on screen:
 *   - segmented: the viewer's session page (index + first segment, cold and warm),
 *   - baseline:  asciinema-player's default loading of the same raw .cast from the same
 *                server (download and parse the whole file before playing),
 * and the time to seek to the end (one segment + snapshot). Prints medians and ratios.
 *
 *   npm run bench:viewer-replay [-- --mb 50 --runs 3]
 */
import { readFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { viewerPlugin } from '../src/web/viewer-plugin.js';
import type { WebPlugin } from '../src/web/web-listener.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { ensureViewerBuilt } from '../test/helpers/viewer-build.js';
import { createIdentity, digestOf, endSession, recordSession, signIn } from '../test/helpers/viewer-fixtures.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const TARGET_MB = option('mb', 50);
const RUNS = option('runs', 3);
const DURATION_S = 3600;
const PLAYER_BUNDLE = fileURLToPath(new URL('../node_modules/asciinema-player/dist/bundle/', import.meta.url));

/** The baseline: the stock player pointed at the raw .cast URL (served as files, CSP-clean). */
const baselinePlugin: WebPlugin = (app: FastifyInstance) => {
  const js = readFileSync(join(PLAYER_BUNDLE, 'asciinema-player.min.js'));
  const css = readFileSync(join(PLAYER_BUNDLE, 'asciinema-player.css'));
  const boot = `const url = new URLSearchParams(location.search).get('cast');
AsciinemaPlayer.create(url, document.getElementById('player'), { autoPlay: true, fit: 'width' });`;
  const html = `<!doctype html><html><head><link rel="stylesheet" href="/bench/player.css"><script src="/bench/player.js"></script></head>
<body><div id="player" data-testid="player"></div><script src="/bench/boot.js"></script></body></html>`;
  app.get('/bench/baseline', async (_r, reply) => reply.type('text/html').send(html));
  app.get('/bench/player.js', async (_r, reply) => reply.type('text/javascript').send(js));
  app.get('/bench/player.css', async (_r, reply) => reply.type('text/css').send(css));
  app.get('/bench/boot.js', async (_r, reply) => reply.type('text/javascript').send(boot));
};

async function writeLongCast(path: string): Promise<void> {
  const eventCount = Math.round((TARGET_MB * 1024 * 1024) / 720);
  const step = DURATION_S / eventCount;
  const out = createWriteStream(path);
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', resolve)));
  await write(`${JSON.stringify({ version: 2, width: 120, height: 40, timestamp: 1_700_000_000 })}\n`);
  await write(`${JSON.stringify([0.05, 'o', 'FIRST-FRAME\r\n'])}\n`);
  for (let i = 1; i < eventCount; i++) {
    const time = Math.round(i * step * 1000) / 1000;
    let text = '';
    while (text.length < 600) text += `\x1b[32m${i.toString(16)}\x1b[0m drwxr-xr-x 2 deploy deploy 4096 ${time.toFixed(3)} some/path/name \r\n`;
    if (i === eventCount - 20) text = '\x1b[2J\x1b[HEND-SCREEN\r\n';
    else if (i > eventCount - 20) text = `\x1b[5;1Htick ${i}`;
    await write(`${JSON.stringify([time, 'o', text])}\n`);
    if (i === eventCount - 10) await write(`${JSON.stringify([time, 'm', 'end-check'])}\n`);
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

async function timeUntilText(page: Page, text: string, action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  await page.waitForFunction(
    (expected) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
      return (doc.querySelector('[data-testid=player] .ap-term')?.textContent ?? '').includes(expected);
    },
    text,
    { polling: 'raf', timeout: 120_000 },
  );
  return performance.now() - started;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(0)} ms`;

async function main(): Promise<void> {
  process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
  ensureViewerBuilt();
  const tg = await startTestGateway({ webPlugins: [viewerPlugin(), baselinePlugin] });
  const browser = await launchBrowser();
  try {
    const { host, port } = tg.address('web');
    const base = `http://${host}:${port}`;
    const store = tg.gateway.store;
    const reviewer = await createIdentity(store, tg.config, { name: 'bench-reviewer', viewer: { sessions: 'all', queries: 'all', audit: true } });
    const { id, recordingPath } = await recordSession(store, tg.config.recordings.dir, { identity: reviewer.identity, state: 'live', events: [] });
    const generated = performance.now();
    await writeLongCast(recordingPath!);
    await endSession(store, id, { identity: reviewer.identity }, recordingPath);
    const { bytes } = digestOf(recordingPath!);
    console.log(`recording: ${(bytes / 1024 / 1024).toFixed(1)} MB, ${DURATION_S} s (written in ${ms(performance.now() - generated)})`);

    const { cookie } = await signIn(base, 'bench-reviewer', reviewer.token);
    const [name, value] = cookie.split('=') as [string, string];
    await browser.context.addCookies([{ name, value, url: base, httpOnly: true, sameSite: 'Strict' }]);

    const segmented: number[] = [];
    const baseline: number[] = [];
    const seeks: number[] = [];
    let cold = 0;
    for (let run = 0; run < RUNS; run++) {
      const page = await browser.context.newPage();
      const took = await timeUntilText(page, 'FIRST-FRAME', () => page.goto(`${base}/sessions/${id}`));
      if (run === 0) cold = took;
      else segmented.push(took);
      // Wait for the indexer's snapshots, then seek to the end.
      await new Promise((resolve) => setTimeout(resolve, run === 0 ? 5000 : 500));
      seeks.push(await timeUntilText(page, 'END-SCREEN', () => page.locator('[data-testid=markers] button', { hasText: 'end-check' }).click()));
      await page.close();
    }
    const castUrl = `/api/sessions/${id}/recording`;
    for (let run = 0; run < RUNS; run++) {
      const page = await browser.context.newPage();
      baseline.push(await timeUntilText(page, 'FIRST-FRAME', () => page.goto(`${base}/bench/baseline?cast=${encodeURIComponent(castUrl)}`)));
      await page.close();
    }
    // The same over a 100 Mbit/s link with 20 ms latency (Chromium network emulation).
    const throttled = { segmented: [] as number[], baseline: [] as number[] };
    for (const kind of ['segmented', 'baseline'] as const) {
      for (let run = 0; run < RUNS; run++) {
        const page = await browser.context.newPage();
        const cdp = await browser.context.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 12_500_000, uploadThroughput: 12_500_000 });
        const url = kind === 'segmented' ? `${base}/sessions/${id}` : `${base}/bench/baseline?cast=${encodeURIComponent(castUrl)}`;
        throttled[kind].push(await timeUntilText(page, 'FIRST-FRAME', () => page.goto(url)));
        await page.close();
      }
    }
    const warm = median(segmented.length ? segmented : [cold]);
    console.log(`first frame, segmented (viewer), cold index: ${ms(cold)}`);
    console.log(`first frame, segmented (viewer), warm:       ${ms(warm)}  (median of ${segmented.length})`);
    console.log(`first frame, baseline (whole .cast):         ${ms(median(baseline))}  (median of ${baseline.length})`);
    console.log(`seek to the end (one segment + snapshot):    ${ms(median(seeks))}`);
    console.log(`ratio baseline / segmented: cold ${(median(baseline) / cold).toFixed(1)}x, warm ${(median(baseline) / warm).toFixed(1)}x`);
    console.log(`over 100 Mbit/s + 20 ms: segmented ${ms(median(throttled.segmented))}, baseline ${ms(median(throttled.baseline))}, ratio ${(median(throttled.baseline) / median(throttled.segmented)).toFixed(1)}x`);
  } finally {
    await browser.close();
    await tg.stop();
  }
}

await main();
