import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoryScenario, type StoryScenario } from '../helpers/story-scenario.js';

let s: StoryScenario;
beforeAll(async () => {
  s = await runStoryScenario();
}, 240_000);
afterAll(async () => {
  await s?.stop();
});

describe('custos story', () => {
  it('prints', async () => {
    const text = await s.f.gateway.cli(['story', '--identity', 'alice', '--since', s.since]);
    console.log(text.stdout, text.stderr);
    const bot = await s.f.gateway.cli(['story', '--identity', 'deployer', '--since', s.since, '--statements']);
    console.log(bot.stdout, bot.stderr);
    expect(text.code).toBe(0);
  });
});
