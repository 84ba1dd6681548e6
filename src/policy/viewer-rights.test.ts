import { describe, expect, it } from 'vitest';
import { roleSpecSchema } from './resource-schemas.js';
import { storyRights, viewerRights, type AccessLevel } from './viewer-rights.js';

const role = (name: string, spec: Record<string, unknown>) => ({ name, spec: roleSpecSchema.parse(spec) });

describe('viewerRights', () => {
  it('defaults to own sessions and queries, no audit', () => {
    expect(viewerRights([role('ops', {})])).toEqual({ sessions: 'own', queries: 'own', audit: false, terminate: false });
  });

  it('takes the widest right among roles', () => {
    expect(
      viewerRights([role('a', { viewer: { sessions: 'all', queries: 'none' } }), role('b', { viewer: { queries: 'own', audit: true, terminate: true } })]),
    ).toEqual({ sessions: 'all', queries: 'own', audit: true, terminate: true });
  });

  it('can take every right away', () => {
    expect(viewerRights([role('a', { viewer: { sessions: 'none', queries: 'none' } })])).toEqual({ sessions: 'none', queries: 'none', audit: false, terminate: false });
  });
});

describe('storyRights', () => {
  const rights = (sessions: AccessLevel, queries: AccessLevel, audit: boolean) => ({ sessions, queries, audit, terminate: false });
  it.each([
    // viewer rights                  own story?  sessions  statements  history
    [rights('own', 'own', false), true, { sessions: true, statements: true, history: true }],
    [rights('own', 'own', false), false, null],
    [rights('none', 'none', false), true, { sessions: false, statements: false, history: true }],
    [rights('all', 'own', false), false, { sessions: true, statements: false, history: false }],
    [rights('own', 'all', false), false, { sessions: false, statements: true, history: false }],
    [rights('own', 'own', true), false, { sessions: false, statements: false, history: true }],
    [rights('all', 'all', true), false, { sessions: true, statements: true, history: true }],
    [rights('none', 'none', true), false, { sessions: false, statements: false, history: true }],
  ] as const)('%o, own story %s → %o', (viewer, own, expected) => {
    expect(storyRights(viewer, own)).toEqual(expected);
  });
});
