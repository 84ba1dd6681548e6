import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const MAX_BODY = 64 * 1024;

/**
 * The cluster answered an upgrade with something other than 101 (the pod does not exist,
 * its RBAC forbids it …): the client gets that answer as it came, and `done` hears its code
 * and the Status message if the body is one.
 */
export function relayRefusal(response: IncomingMessage, client: Duplex, done: (code: number, message: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (size >= MAX_BODY) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const code = response.statusCode ?? 502;
    const body = Buffer.concat(chunks).subarray(0, MAX_BODY);
    if (!client.destroyed) {
      client.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 ${code} ${response.statusMessage ?? ''}\r\nContent-Type: ${String(response.headers['content-type'] ?? 'text/plain')}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          ),
          body,
        ]),
      );
    }
    done(code, statusMessage(body));
  };
  response.once('end', finish);
  response.once('error', finish);
}

function statusMessage(body: Buffer): string | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { kind?: string; message?: unknown };
    return parsed.kind === 'Status' && typeof parsed.message === 'string' ? parsed.message : null;
  } catch {
    const text = body.toString('utf8').trim();
    return text ? text.slice(0, 200) : null;
  }
}
