/**
 * Regenerates docs/viewer-session.png, the README's picture of the session page: a demo
 * session written through the viewer fixtures, opened in headless Chromium.
 *
 *   npx tsx scripts/viewer-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/browser.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { ensureViewerBuilt } from '../test/helpers/viewer-build.js';
import { createIdentity, recordSession, signIn, type CastEvent } from '../test/helpers/viewer-fixtures.js';

const OUT = fileURLToPath(new URL('../docs/viewer-session.png', import.meta.url));

function demo(): CastEvent[] {
  const events: CastEvent[] = [];
  let t = 0.3;
  const prompt = '\x1b[32mdeploy@web1\x1b[0m:\x1b[34m~\x1b[0m$ ';
  const run = (command: string, output: string[]) => {
    events.push([t, 'o', prompt]);
    t += 0.6;
    events.push([t, 'i', `${command}\r`]);
    events.push([t, 'o', `${command}\r\n`]);
    t += 0.3;
    for (const line of output) {
      events.push([t, 'o', `${line}\r\n`]);
      t += 0.05;
    }
    t += 1.2;
  };
  run('hostname && uptime', ['web1', ' 10:42:07 up 41 days,  3:12,  1 user,  load average: 0.08, 0.12, 0.10']);
  run('sudo systemctl status nginx --no-pager | head -4', [
    '\x1b[32m●\x1b[0m nginx.service - A high performance web server and a reverse proxy server',
    '     Loaded: loaded (/lib/systemd/system/nginx.service; enabled; preset: enabled)',
    '     Active: \x1b[32mactive (running)\x1b[0m since Mon 2025-03-03 07:30:12 UTC; 4 days ago',
    '       Docs: man:nginx(8)',
  ]);
  run('ls -l /etc/nginx/sites-enabled', ['total 0', 'lrwxrwxrwx 1 root root 34 Mar  3 07:29 app.conf -> /etc/nginx/sites-available/app.conf']);
  run('sudo nginx -t && sudo systemctl reload nginx', ['nginx: the configuration file /etc/nginx/nginx.conf syntax is ok', 'nginx: configuration file /etc/nginx/nginx.conf test is successful']);
  events.push([t, 'r', '110x28']);
  run('exit', ['logout']);
  return events;
}

process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
ensureViewerBuilt();
const tg = await startTestGateway();
const browser = await launchBrowser();
try {
  const { host, port } = tg.address('web');
  const base = `http://${host}:${port}`;
  const store = tg.gateway.store;
  const auditor = await createIdentity(store, tg.config, { name: 'maria.auditor', viewer: { sessions: 'all', queries: 'all', audit: true } });
  const operator = await createIdentity(store, tg.config, { name: 'jan.operator' });
  const { id } = await recordSession(store, tg.config.recordings.dir, {
    identity: operator.identity,
    ticket: 'CHG-4711',
    clientAddr: '10.20.0.15:52814',
    startedAt: new Date('2025-03-07T10:41:58Z'),
    endedAt: new Date('2025-03-07T10:42:31Z'),
    events: demo(),
    header: { width: 100, height: 20 },
  });
  const { cookie } = await signIn(base, 'maria.auditor', auditor.token);
  const [name, value] = cookie.split('=') as [string, string];
  await browser.context.addCookies([{ name, value, url: base, httpOnly: true, sameSite: 'Strict' }]);
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 1480 });
  await page.goto(`${base}/sessions/${id}`);
  await page.waitForFunction(() => {
    const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
    return (doc.querySelector('[data-testid=player] .ap-term')?.textContent ?? '').includes('reload nginx') && (doc.querySelector('[data-testid=integrity]')?.textContent ?? '').includes('verified');
  }, undefined, { timeout: 30_000 });
  // Show the end of the session (the last command), paused.
  await page.locator('[data-testid=markers] button', { hasText: '$ exit' }).click();
  await page.waitForTimeout(2500);
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path: OUT, clip: { x: 0, y: 0, width: 1200, height: 1480 } });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await tg.stop();
}
