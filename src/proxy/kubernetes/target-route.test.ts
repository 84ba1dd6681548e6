import { describe, expect, it } from 'vitest';
import { targetRoute } from './target-route.js';

describe('targetRoute', () => {
  it.each([
    ['/k8s/prod/api/v1/pods?watch=1', { target: 'prod', rest: '/api/v1/pods?watch=1' }],
    ['/k8s/prod', { target: 'prod', rest: '/' }],
    ['/k8s/prod/', { target: 'prod', rest: '/' }],
    ['/k8s/prod?timeout=5s', { target: 'prod', rest: '/?timeout=5s' }],
    ['/k8s/k8s%2Dprod/version', { target: 'k8s-prod', rest: '/version' }],
    ['/k8s/prod/api/v1/namespaces/a%2Fb/pods', { target: 'prod', rest: '/api/v1/namespaces/a%2Fb/pods' }],
  ])('%s', (url, expected) => {
    expect(targetRoute(url)).toEqual(expected);
  });

  it.each(['/api/v1/pods', '/version', '/k8s/', '/k8s//api', '/k8s/%zz/api', '/k8sprod/api'])('%s is not a target path', (url) => {
    expect(targetRoute(url)).toBeNull();
  });
});
