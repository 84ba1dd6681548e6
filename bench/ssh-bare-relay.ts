/**
 * A bare ssh2 relay for the SSH benchmark's middle baseline: accepts any client, connects
 * upstream with the given key, and pipes exec/shell channels both ways. No policy, no
 * recording, no store: what ssh2 itself costs, to set Custos's recording overhead against.
 * Usage: tsx bench/ssh-bare-relay.ts UPSTREAM_PORT UPSTREAM_USER KEY_PATH (prints its port).
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair } from '../src/core/generated-keys.js';

const [upstreamPort, upstreamUser, keyPath] = process.argv.slice(2) as [string, string, string];
const hostKey = generateEd25519KeyPair().private;
const privateKey = readFileSync(keyPath);

const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
  client.on('error', () => undefined);
  (client as ssh2.Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
  client.on('authentication', (ctx) => ctx.accept());
  client.on('ready', () => {
    const upstream = new ssh2.Client();
    upstream.on('error', () => client.end());
    const ready = new Promise<void>((resolve) => upstream.once('ready', resolve));
    upstream.connect({ host: '127.0.0.1', port: Number(upstreamPort), username: upstreamUser, privateKey, hostVerifier: () => true });
    upstream.setNoDelay(true);
    client.on('close', () => upstream.end());
    client.on('session', (accept) => {
      const session = accept();
      let pty: ssh2.PseudoTtyOptions | false = false;
      session.on('pty', (ok, _no, info) => {
        pty = { rows: info.rows, cols: info.cols, width: info.width, height: info.height, term: info.term };
        ok?.();
      });
      session.on('env', (ok) => ok?.());
      const bridge = (channel: ssh2.ServerChannel, open: (cb: ssh2.ClientCallback) => void) => {
        channel.pause();
        void ready.then(() =>
          open((err, up) => {
            if (err) return channel.end();
            up.pipe(channel, { end: false });
            up.stderr.pipe(channel.stderr, { end: false });
            channel.pipe(up);
            let code: number | null = null;
            up.on('exit', (status: number | null) => (code = status));
            up.on('close', () => {
              if (typeof code === 'number') channel.exit(code);
              channel.end();
            });
            channel.resume();
          }),
        );
      };
      session.on('exec', (ok, _no, info) => bridge(ok(), (cb) => upstream.exec(info.command, pty ? { pty } : {}, cb)));
      session.on('shell', (ok) => bridge(ok(), (cb) => upstream.shell(pty, cb)));
    });
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
