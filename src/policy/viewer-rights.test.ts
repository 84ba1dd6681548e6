import { describe, expect, it } from 'vitest';
import { roleSpecSchema } from './resource-schemas.js';
import { viewerRights } from './viewer-rights.js';

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
