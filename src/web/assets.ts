import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` puts the viewer (vite build of web/), from src/web or dist/web alike. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** Client-side routes answered with the viewer's index.html. */
export const PAGE_ROUTES = ['/', '/login', '/sessions', '/sessions/:id', '/queries', '/kube-requests', '/audit', '/requests', '/requests/:id'];

/**
 * Serves the built viewer from memory: hashed files under /assets/ are immutable, pages
 * always revalidate. Nothing outside the build directory can be named.
 */
export function registerAssets(app: FastifyInstance, dir = DEFAULT_ASSETS_DIR): void {
  const files = new Map<string, Buffer>();
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir, { recursive: true }).map(String)) {
      const full = join(dir, entry);
      if (statSync(full).isFile()) files.set(`/${relative(dir, full).split(sep).join('/')}`, readFileSync(full));
    }
  }
  const index = files.get('/index.html');

  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!index) {
      return reply.status(503).type('text/plain; charset=utf-8').send('The viewer is not built: run `npm run build` (vite build of web/).');
    }
    return reply.type(CONTENT_TYPES['.html']!).header('cache-control', 'no-cache').send(index);
  };
  for (const route of PAGE_ROUTES) app.get(route, page);

  app.get('/assets/*', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const body = files.get(path);
    if (!body) return reply.status(404).send({ error: 'not_found', message: 'no such asset' });
    return reply
      .type(CONTENT_TYPES[extname(path)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(body);
  });
}
