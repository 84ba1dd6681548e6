import { describe, expect, it } from 'vitest';
import { selectorMatches, targetLabels } from './label-selector.js';

const labels = targetLabels({ name: 'web-7', protocol: 'ssh', labels: { env: 'prod', team: 'payments' } });

describe('selectorMatches', () => {
  it.each([
    [{ '*': '*' }, true],
    [{ env: 'prod' }, true],
    [{ env: 'staging' }, false],
    [{ env: ['staging', 'prod'] }, true],
    [{ env: 'prod', team: 'payments' }, true],
    [{ env: 'prod', team: 'search' }, false],
    [{ team: '*' }, true],
    [{ region: '*' }, false],
    [{ name: 'web-*' }, true],
    [{ name: 'db-*' }, false],
    [{ protocol: 'ssh' }, true],
    [{ env: 'pr.d' }, false],
    [{}, false],
  ])('%j → %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
