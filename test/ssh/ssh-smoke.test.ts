import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshFixture, type SshFixture } from './fixture.js';

let f: SshFixture;
beforeAll(async () => {
  f = await startSshFixture();
});
afterAll(async () => {
  await f?.stop();
});

describe('smoke', () => {
  it('exec', async () => {
    const result = await f.run(f.keys.alice, `${f.login}@web1`, ['echo hello; exit 3']);
    console.log(result.code, JSON.stringify(result.stdout.toString()), result.stderr);
    expect(result.stdout.toString()).toBe('hello\n');
    expect(result.code).toBe(3);
  });
});
