import type { Command } from 'commander';
import type { Story } from '../../recorder/story/story-model.js';
import { CliError } from '../errors.js';
import { configFor, withConfigOption } from '../program-context.js';
import { runCliOperation } from '../run-operation.js';
import { storyHtml } from '../story/story-html.js';
import { storyJsonl } from '../story/story-jsonl.js';
import { storyText } from '../story/story-text.js';

export function registerStory(program: Command): void {
  withConfigOption(program.command('story'))
    .description('one ordered timeline of everything an identity did and everything done to it, with the ids that lead to the evidence')
    .requiredOption('--identity <name>', 'whose story')
    .option('--since <when>', 'a duration back from now (24h) or a timestamp; sessions overlapping the window count, whole', '24h')
    .option('--until <when>', 'a duration back from now or a timestamp (default: now)')
    .option('--format <format>', 'text | jsonl | html (one self-contained page)', 'text')
    .option('--statements', 'every captured statement as an entry (otherwise counted on its session)')
    .action(async (options: { identity: string; since: string; until?: string; format: string; statements?: boolean }, command: Command) => {
      if (!['text', 'jsonl', 'html'].includes(options.format)) throw new CliError('usage', `unknown format "${options.format}" (text, jsonl, html)`);
      const story = (await runCliOperation(configFor(command), 'story', {
        identity: options.identity,
        since: options.since,
        until: options.until,
        statements: options.statements === true,
      })) as Story;
      process.stdout.write(options.format === 'jsonl' ? storyJsonl(story) : options.format === 'html' ? storyHtml(story) : storyText(story));
    });
}
