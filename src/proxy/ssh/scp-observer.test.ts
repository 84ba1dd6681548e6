import { describe, expect, it } from 'vitest';
import type { ObservedFileOperation } from './file-operation.js';
import { parseScpCommand, shellWords } from './scp-command.js';
import { ScpObserver } from './scp-observer.js';

const ACK = Buffer.from([0]);
const nack = (message: string) => Buffer.from(`\x01${message}\n`);

/** [direction, bytes]: 'src' is the side sending files, 'sink' the side acknowledging. */
type Step = ['src' | 'sink', Buffer];

const UPLOAD: Step[] = [
  ['sink', ACK],
  ['src', Buffer.from('C0644 11 a.txt\n')],
  ['sink', ACK],
  ['src', Buffer.from('hello world')],
  ['src', ACK],
  ['sink', ACK],
  ['src', Buffer.from('D0755 0 sub\n')],
  ['sink', ACK],
  ['src', Buffer.from('T1700000000 0 1700000000 0\n')],
  ['sink', ACK],
  ['src', Buffer.from('C0600 3 b.bin\n')],
  ['sink', ACK],
  ['src', Buffer.from([1, 2, 3])],
  ['src', ACK],
  ['sink', ACK],
  ['src', Buffer.from('E\n')],
  ['sink', ACK],
  ['src', Buffer.from('C0644 5 denied.txt\n')],
  ['sink', nack('scp: /srv/denied.txt: Permission denied')],
];

function run(command: string, steps: Step[], split: (b: Buffer) => Buffer[] = (b) => [b]): ObservedFileOperation[] {
  const parsed = parseScpCommand(command);
  if (!parsed) throw new Error('not scp');
  const seen: ObservedFileOperation[] = [];
  const observer = new ScpObserver(parsed, (op) => seen.push(op));
  for (const [who, bytes] of steps) {
    const fromClient = parsed.mode === 'sink' ? who === 'src' : who === 'sink';
    for (const piece of split(bytes)) {
      if (fromClient) observer.fromClient(piece);
      else observer.fromServer(piece);
    }
  }
  expect(observer.broken).toBeNull();
  return seen;
}

describe('parseScpCommand', () => {
  it('recognises the sink and source sides of legacy scp', () => {
    expect(parseScpCommand('scp -t /tmp')).toEqual({ mode: 'sink', paths: ['/tmp'], recursive: false, targetIsDirectory: false });
    expect(parseScpCommand('scp -r -d -t -- /srv/my\\ dir')).toMatchObject({ mode: 'sink', paths: ['/srv/my dir'], recursive: true, targetIsDirectory: true });
    expect(parseScpCommand("scp -f '/etc/host name' /etc/passwd")).toMatchObject({ mode: 'source', paths: ['/etc/host name', '/etc/passwd'] });
    expect(parseScpCommand('scp -pf x')).toMatchObject({ mode: 'source', paths: ['x'] });
    expect(parseScpCommand('/usr/bin/scp -t .')).toMatchObject({ mode: 'sink', paths: ['.'] });
  });

  it('leaves other commands alone', () => {
    expect(parseScpCommand('scp a b')).toBeNull();
    expect(parseScpCommand('ls -t /tmp')).toBeNull();
    expect(parseScpCommand('scp -t /tmp; rm -rf /')).toBeNull();
    expect(parseScpCommand('scp -t /tmp\nrm -rf /')).toBeNull();
    expect(parseScpCommand("scp -f '/tmp\nx'")).toBeNull();
    expect(parseScpCommand('scp -f $(cat /etc/shadow)')).toBeNull();
    expect(shellWords('echo "a b" c\\ d')).toEqual(['echo', 'a b', 'c d']);
  });
});

describe('ScpObserver', () => {
  const expectedUpload = [
    { operation: 'write', path: '/srv/a.txt', bytes: 11, result: 'ok' },
    { operation: 'mkdir', path: '/srv/sub', result: 'ok' },
    { operation: 'write', path: '/srv/sub/b.bin', bytes: 3, result: 'ok' },
    { operation: 'write', path: '/srv/denied.txt', bytes: null, result: 'error', error: 'scp: /srv/denied.txt: Permission denied' },
  ];

  it('reports uploads (scp -t) with paths, sizes and refusals', () => {
    expect(run('scp -r -d -t /srv', UPLOAD)).toMatchObject(expectedUpload);
  });

  it('reports the same whatever the chunking', () => {
    for (let cut = 1; cut < 16; cut++) {
      expect(run('scp -r -d -t /srv', UPLOAD, (b) => [b.subarray(0, cut), b.subarray(cut)])).toMatchObject(expectedUpload);
    }
    expect(run('scp -r -d -t /srv', UPLOAD, (b) => [...b].map((x) => Buffer.from([x])))).toMatchObject(expectedUpload);
  });

  it('names a single uploaded file after the target when the target is its new name', () => {
    const steps: Step[] = [
      ['sink', ACK],
      ['src', Buffer.from('C0644 2 local.txt\n')],
      ['sink', ACK],
      ['src', Buffer.from('hi')],
      ['src', ACK],
      ['sink', ACK],
    ];
    expect(run('scp -t /srv/local.txt', steps)).toMatchObject([{ path: '/srv/local.txt', bytes: 2 }]);
    expect(run('scp -t /srv', steps)).toMatchObject([{ path: '/srv/local.txt', bytes: 2 }]);
  });

  it('reports downloads (scp -f), including files the source cannot send', () => {
    const steps: Step[] = [
      ['sink', ACK],
      ['src', Buffer.from('C0644 4 passwd\n')],
      ['sink', ACK],
      ['src', Buffer.from('root')],
      ['src', ACK],
      ['sink', ACK],
      ['src', Buffer.from('\x01scp: /etc/nope: No such file or directory\n')],
    ];
    expect(run('scp -f /etc/passwd /etc/nope', steps)).toMatchObject([
      { operation: 'read', path: '/etc/passwd', bytes: 4, result: 'ok' },
      { operation: 'read', path: '/etc/nope', result: 'error' },
    ]);
  });

  it.each([
    ['a sink that prints text (a shell function named scp)', 'scp -t .', 'FUNC-SCP-MARKER -t .\n', /not acknowledgements/],
    ['a source that prints text instead of files', 'scp -f x', 'uid=0(root) gid=0(root)\n', /unexpected scp control line/],
    ['a sink that prints after a valid ack', 'scp -t .', '\0$ ', /not acknowledgements/],
  ])('says it lost the protocol for %s (what the target runs is its shell\'s choice)', (_name, command, fromServer, reason) => {
    const observer = new ScpObserver(parseScpCommand(command)!, () => undefined);
    observer.fromServer(Buffer.from(fromServer));
    expect(observer.broken).toMatch(reason);
  });
});
