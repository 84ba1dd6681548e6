import { describe, expect, it } from 'vitest';
import { PolicyError } from './errors.js';
import { parseResourceFile } from './resource-file.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMhfPMI6eT4mgODEGFjSl7EVeVxeUMk41VIg1oGPCily alice@laptop';

function errorOf(text: string): PolicyError {
  try {
    parseResourceFile(text, 'res.yaml');
  } catch (err) {
    return err as PolicyError;
  }
  throw new Error('expected the file to be refused');
}

describe('parseResourceFile', () => {
  it('reads several documents with their kinds, defaults and positions', () => {
    const docs = parseResourceFile(
      `kind: role\nname: ops\nspec:\n  targets: {env: prod}\n  logins: [deploy]\n---\nkind: identity\nname: alice\nspec:\n  roles: [ops]\n  sshKeys: ["${KEY}"]\n---\n`,
      'res.yaml',
    );
    expect(docs.map((d) => [d.index, d.document.kind, d.document.name])).toEqual([
      [1, 'role', 'ops'],
      [2, 'identity', 'alice'],
    ]);
    expect(docs[0]!.document.spec).toMatchObject({ maxSessionTTL: '8h', recordInput: false, portForwarding: false });
    expect(docs[1]!.document.spec).toMatchObject({ kind: 'human', roles: ['ops'] });
  });

  it.each([
    ['an unknown kind', 'kind: robot\nname: r\nspec: {}\n', 'unknown_kind', /document 1: unknown kind "robot"/],
    ['an unknown field', 'kind: role\nname: r\nspec:\n  logins: [a]\n  superuser: true\n', 'invalid_resource', /document 1: role "r": spec: unknown field "superuser"/],
    ['an unknown top-level field', 'kind: role\nname: r\nmetadata: {}\nspec: {}\n', 'invalid_resource', /unknown field "metadata"/],
    ['a bot without owner', `kind: identity\nname: ci\nspec:\n  kind: bot\n`, 'invalid_resource', /spec\.owner: a bot needs an owner/],
    ['a literal secret', 'kind: target\nname: db\nspec:\n  protocol: postgres\n  address: db:5432\n  credentials:\n    password: hunter2\n', 'invalid_resource', /spec\.credentials\.password: secrets are given as env:NAME or file:PATH/],
    ['an ssh target without host key', 'kind: target\nname: web\nspec:\n  protocol: ssh\n  address: web:22\n', 'invalid_resource', /spec\.hostKey: an ssh target needs its pinned host key/],
    ['a bad duration', 'kind: role\nname: r\nspec:\n  maxSessionTTL: forever\n', 'invalid_resource', /spec\.maxSessionTTL: expected a duration/],
    ['a bad ssh key', 'kind: identity\nname: a\nspec:\n  sshKeys: [nonsense]\n', 'invalid_resource', /spec\.sshKeys\.0: expected an OpenSSH public key/],
    ['a duplicate', 'kind: role\nname: r\n---\nkind: role\nname: r\n', 'invalid_resource', /document 2: role "r" is declared twice \(first in document 1\)/],
    ['invalid YAML', 'kind: role\nname: [r\n', 'invalid_resource', /document 1: invalid YAML/],
    ['a bad name', 'kind: target\nname: "web 1"\nspec: {}\n', 'invalid_resource', /invalid or missing name/],
  ])('refuses %s, naming the file and document', (_what, text, code, message) => {
    const error = errorOf(text);
    expect(error).toBeInstanceOf(PolicyError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^res\.yaml: /);
    expect(error.message).toMatch(message);
  });

  it('gives the index of the failing document among several', () => {
    const error = errorOf('kind: role\nname: a\n---\nkind: role\nname: b\n---\nkind: role\nname: c\nspec: {logins: 3}\n');
    expect(error.documentIndex).toBe(3);
  });
});
