import { buildStory } from '../recorder/story/build-story.js';
import type { StoryProtocol } from '../recorder/story/story-model.js';
import { optionalString, optionalTime } from './args.js';
import type { Operation } from './context.js';
import { AdminError } from './errors.js';

const PROTOCOLS = ['ssh', 'postgres', 'kubernetes'];

export const storyOperations: Record<string, Operation> = {
  /** One identity's timeline (or everyone's with `all`) over a window; see recorder/story. */
  async story(context, args) {
    const identity = optionalString(args, 'identity') ?? null;
    if (!identity && args.all !== true) throw new AdminError('invalid_argument', 'give --identity NAME (or --all)');
    const protocol = optionalString(args, 'protocol');
    if (protocol && !PROTOCOLS.includes(protocol)) throw new AdminError('invalid_argument', `protocol must be one of ${PROTOCOLS.join(', ')}`);
    const story = await buildStory(context.store, {
      identity,
      since: optionalTime(args, 'since') ?? null,
      until: optionalTime(args, 'until') ?? null,
      statements: args.statements === true,
      protocol: (protocol as StoryProtocol | undefined) ?? null,
      recordingsDir: context.config.recordings.dir,
    });
    if (story.identity && !story.identity.exists && story.entries.length === 0) {
      throw new AdminError('not_found', `no identity named "${identity}", and nothing recorded about one in this window`);
    }
    return story;
  },
};
