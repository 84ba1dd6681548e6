import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayConfig } from '../core/config.js';
import { storyRights } from '../policy/viewer-rights.js';
import { buildStory } from '../recorder/story/build-story.js';
import { visibleStory } from '../recorder/story/story-visibility.js';
import type { Store } from '../store/store.js';
import { notFound } from './errors.js';
import { parseQuery, time } from './params.js';
import { viewerOf } from './viewer-context.js';

const storyQuery = z
  .object({
    since: time,
    until: time,
    protocol: z.enum(['ssh', 'postgres', 'kubernetes']).optional(),
    statements: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** Most entries one page of the identity page shows (narrow the window for more). */
export const STORY_PAGE_ENTRIES = 2000;

/**
 * GET /api/identities/:name/story — the identity page's timeline (recorder/story), cut to
 * what the viewer may see (policy/viewer-rights.ts `storyRights`): another identity's story,
 * or one the viewer may see nothing of, answers 404 like an unknown name.
 */
export function registerIdentityRoutes(app: FastifyInstance, deps: { store: Store; config: GatewayConfig }): void {
  const { store, config } = deps;
  app.get<{ Params: { name: string } }>('/api/identities/:name/story', async (request) => {
    const viewer = viewerOf(request);
    const query = parseQuery(storyQuery, request.query);
    const name = request.params.name;
    if (name.length > 200) throw notFound(`no identity ${name}`);
    const subject = await store.resources.identityByName(name);
    const own = subject !== null && (subject.id === viewer.identity.id || (viewer.identity.kind === 'human' && subject.owner === viewer.identity.name));
    const rights = storyRights(viewer.rights, own);
    if (!rights) throw notFound(`no identity ${name}`);
    const since = query.since ?? new Date(Date.now() - 86_400_000);
    const story = await buildStory(store, {
      identity: name,
      since,
      until: query.until ?? null,
      protocol: query.protocol ?? null,
      statements: query.statements === 'true' && rights.statements,
      recordingsDir: config.recordings.dir,
      maxEntries: STORY_PAGE_ENTRIES,
    });
    if (!story.identity?.exists && story.entries.length === 0) throw notFound(`no identity ${name}`);
    return { ...visibleStory(story, rights), rights };
  });
}
