/**
 * Regenerates docs/viewer-session.png, the README's picture of the session page: a session
 * recorded through the real SSH path — OpenSSH `ssh` in a pty, typing at a person's pace,
 * through an in-process gateway to an OpenSSH sshd target — opened in headless Chromium.
 *
 *   npx tsx scripts/viewer-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/browser.js';
import { startSshFixture } from '../test/helpers/ssh-fixture.js';
import { openSshShell } from '../test/helpers/ssh-shell.js';
import { makeKeyPair } from '../test/helpers/ssh-keys.js';
import { ensureStoreTemplate } from '../test/helpers/store-template.js';
import { makeTempDir } from '../test/helpers/temp-dir.js';
import { ensureViewerBuilt } from '../test/helpers/viewer-build.js';
import { createIdentity, signIn } from '../test/helpers/viewer-fixtures.js';
import { waitFor } from '../test/helpers/wait.js';

const OUT = fileURLToPath(new URL('../docs/viewer-session.png', import.meta.url));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

process.env.CUSTOS_TEST_STORE_TEMPLATE = await ensureStoreTemplate();
ensureViewerBuilt();
const keys = makeTempDir('cshot-');
const operatorKey = makeKeyPair(keys.path, 'jan');
const f = await startSshFixture({
  resources: `kind: identity
name: jan.operator
spec:
  kind: human
  roles: [ops]
  sshKeys: ["${operatorKey.publicLine}"]
`,
});
const browser = await launchBrowser();
try {
  const shell = await openSshShell(f, { key: operatorKey, user: `${f.login}@web1`, cols: 100, rows: 22 });
  const typed = { typeDelayMs: 45 };
  await pause(800);
  await shell.run('hostname && uptime', /load average[^]*[#$] $/, typed);
  await pause(1200);
  await shell.run('df -h / | tail -n 1', /%[^]*[#$] $/, typed);
  await pause(1200);
  await shell.run('ps -o pid,user,etime,cmd', /PID[^]*[#$] $/, typed);
  await pause(1500);
  shell.pty.resize(110, 24);
  await shell.run('ls -l --color=auto /etc/ssh', /total[^]*[#$] $/, typed);
  await pause(1500);
  await shell.run('grep -c ^ /etc/ssh/sshd_config', /\r\d+\r\n[^]*[#$] $/, typed);
  await pause(1000);
  const marks = shell.pty.output().length;
  await shell.run('exit', /logout/, typed).catch(() => undefined);
  const code = await shell.pty.exited;
  if (code.exitCode !== 0) throw new Error(`ssh exited ${code.exitCode}: ${shell.pty.output().slice(marks)}`);
  const [session] = await f.gateway.gateway.store.sessions.list({ identity: 'jan.operator', limit: 1 });
  if (!session) throw new Error('the session was not recorded');
  await waitFor(async () => (await f.gateway.gateway.store.sessions.get(session.id))?.state === 'closed', { what: 'the session to close' });

  const { host, port } = f.gateway.address('web');
  const base = `http://${host}:${port}`;
  const auditor = await createIdentity(f.gateway.gateway.store, f.gateway.config, { name: 'maria.auditor', viewer: { sessions: 'all', queries: 'all', audit: true } });
  const { cookie } = await signIn(base, 'maria.auditor', auditor.token);
  const [name, value] = cookie.split('=') as [string, string];
  await browser.context.addCookies([{ name, value, url: base, httpOnly: true, sameSite: 'Strict' }]);
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 1480 });
  await page.goto(`${base}/sessions/${session.id}`);
  const text = (selector: string) => page.locator(selector).first().textContent().then((value) => value ?? '');
  await waitFor(async () => (await text('[data-testid=integrity]')).includes('verified') && (await page.locator('[data-testid=markers] button').count()) > 0, {
    timeoutMs: 30_000,
    what: 'the session page',
  });
  // The end of the session, then back to just before `exit`: paused there.
  await page.locator('[data-testid=markers] button', { hasText: 'exit status' }).click();
  await waitFor(async () => (await text('[data-testid=player] .ap-term')).includes('logout'), { timeoutMs: 30_000, what: 'the end of the replay' });
  await page.locator('[data-testid=markers] button', { hasText: '$ exit' }).click();
  await waitFor(async () => !(await text('[data-testid=player] .ap-term')).includes('logout'), { timeoutMs: 30_000, what: 'the seek back' });
  await pause(500);
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path: OUT, clip: { x: 0, y: 0, width: 1200, height: 1480 } });
  console.log(`wrote ${OUT} (session ${session.id})`);
} finally {
  await browser.close();
  await f.stop();
  keys.remove();
}
