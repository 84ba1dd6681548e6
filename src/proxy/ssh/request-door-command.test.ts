import { describe, expect, it } from 'vitest';
import { parseDoorCommand, shellWords, type DoorCommand } from './request-door-command.js';

describe('parseDoorCommand', () => {
  const cases: Array<[string, string | null, DoorCommand]> = [
    ['no command: usage', null, { kind: 'help' }],
    ['help', 'help', { kind: 'help' }],
    ['list', 'ls', { kind: 'ls' }],
    ['show', 'show req_1', { kind: 'show', id: 'req_1' }],
    [
      'words joined by ssh: a value runs to the next option',
      'web1 --login root --reason disk full on /var --ticket CHG-1',
      { kind: 'create', target: 'web1', login: 'root', reason: 'disk full on /var', ticket: 'CHG-1' },
    ],
    ['quotes that arrive are honoured', `web1 --reason "it's --not an option" --duration 30m`, { kind: 'create', target: 'web1', reason: "it's --not an option", duration: '30m' }],
    ['--name=value', 'orders --db-user=app --reason=report', { kind: 'create', target: 'orders', dbUser: 'app', reason: 'report' }],
    ['bot and start', 'web1 --for deploy-bot --start 10m --reason release', { kind: 'create', target: 'web1', forBot: 'deploy-bot', start: '10m', reason: 'release' }],
    ['a reason is required', 'web1 --login root', { kind: 'error', message: 'a reason is required: --reason TEXT' }],
    ['an empty option', 'web1 --reason x --ticket', { kind: 'error', message: '--ticket needs a value' }],
    ['an unknown option', 'web1 --reason x --sudo', { kind: 'error', message: expect.stringContaining('unknown option --sudo') as unknown as string }],
    ['twice', 'web1 --reason a --reason b', { kind: 'error', message: '--reason is given twice' }],
    ['a stray word', 'web1 extra --reason x', { kind: 'error', message: 'unexpected "extra": options come as --name value' }],
    ['target first', '--reason x', { kind: 'error', message: 'name the target first: <target> --reason TEXT …' }],
  ];
  it.each(cases)('%s', (_name, command, expected) => {
    expect(parseDoorCommand(command)).toEqual(expected);
  });
});

describe('shellWords', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    [`'a b' "c \\"d\\"" e\\ f`, ['a b', 'c "d"', 'e f']],
    [`""`, ['']],
    ['', []],
  ])('%s', (text, words) => {
    expect(shellWords(text)).toEqual(words);
  });
});
