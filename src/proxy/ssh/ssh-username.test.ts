import { describe, expect, it } from 'vitest';
import { parseSshUsername } from './ssh-username.js';

describe('parseSshUsername', () => {
  it.each([
    ['deploy@web1', { login: 'deploy', target: 'web1' }],
    ['web1', { login: null, target: 'web1' }],
    ['svc.backup@db-2.prod', { login: 'svc.backup', target: 'db-2.prod' }],
  ])('%s', (username, expected) => {
    expect(parseSshUsername(username)).toEqual(expected);
  });

  it.each(['', '@web1', 'deploy@', 'a@b@c', 'root@web 1', 'x'.repeat(200), 'de\u0000ploy@web1'])('refuses %j with a readable reason', (username) => {
    const parsed = parseSshUsername(username);
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toMatch(/login@target|not a valid login/);
  });
});
