import type { Story } from '../../recorder/story/story-model.js';

/**
 * The story as JSON lines: a first line `{"kind":"story", …}` with who, the window and the
 * chain head, then one line per entry in order, each with the fields of StoryEntry.
 */
export function storyJsonl(story: Story): string {
  const { entries, ...header } = story;
  return [JSON.stringify({ kind: 'story', ...header }), ...entries.map((entry) => JSON.stringify(entry))].join('\n') + '\n';
}
