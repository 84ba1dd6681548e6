import { describe, expect, it } from 'vitest';
import { exactFieldMatch, kubeRequestInfo } from './request-info.js';

type Row = [method: string, url: string, verb: string, group: string, version: string, namespace: string, resource: string, subresource: string, name: string, parts: string[]];

// The success cases of kube-apiserver's TestGetAPIRequestInfo, plus the streaming
// subresources this gateway authorizes as `create`.
const resourceCases: Row[] = [
  ['GET', '/api/v1/namespaces', 'list', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  ['GET', '/api/v1/namespaces/other', 'get', '', 'v1', 'other', 'namespaces', '', 'other', ['namespaces', 'other']],
  ['GET', '/api/v1/namespaces/other/pods', 'list', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods/foo', 'get', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['HEAD', '/api/v1/namespaces/other/pods/foo', 'get', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['GET', '/api/v1/pods', 'list', '', 'v1', '', 'pods', '', '', ['pods']],
  ['HEAD', '/api/v1/pods', 'list', '', 'v1', '', 'pods', '', '', ['pods']],
  ['PATCH', '/api/v1/namespaces/new-namespace', 'patch', '', 'v1', '', 'namespaces', '', 'new-namespace', ['namespaces', 'new-namespace']],
  // special verbs
  ['GET', '/api/v1/proxy/namespaces/other/pods/foo', 'proxy', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['GET', '/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource', 'proxy', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo', 'subpath', 'not', 'a', 'subresource']],
  ['GET', '/api/v1/watch/pods', 'watch', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=true', 'watch', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=false', 'list', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=1', 'watch', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=0', 'list', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=FALSE', 'list', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/namespaces/other/pods?watch=', 'list', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // subresource identification
  ['GET', '/api/v1/namespaces/other/pods/foo/status', 'get', '', 'v1', 'other', 'pods', 'status', 'foo', ['pods', 'foo', 'status']],
  ['GET', '/api/v1/namespaces/other/pods/foo/proxy/subpath', 'get', '', 'v1', 'other', 'pods', 'proxy', 'foo', ['pods', 'foo', 'proxy', 'subpath']],
  ['PUT', '/api/v1/namespaces/other/finalize', 'update', '', 'v1', 'other', 'namespaces', 'finalize', 'other', ['namespaces', 'other', 'finalize']],
  ['PUT', '/api/v1/namespaces/other/status', 'update', '', 'v1', 'other', 'namespaces', 'status', 'other', ['namespaces', 'other', 'status']],
  // verb identification
  ['PATCH', '/api/v1/namespaces/other/pods/foo', 'patch', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['DELETE', '/api/v1/namespaces/other/pods/foo', 'delete', '', 'v1', 'other', 'pods', '', 'foo', ['pods', 'foo']],
  ['POST', '/api/v1/namespaces/other/pods', 'create', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['PUT', '/apis/apps/v1/namespaces/other/deployments/web/scale', 'update', 'apps', 'v1', 'other', 'deployments', 'scale', 'web', ['deployments', 'web', 'scale']],
  // deletecollection
  ['DELETE', '/api/v1/nodes', 'deletecollection', '', 'v1', '', 'nodes', '', '', ['nodes']],
  ['DELETE', '/api/v1/namespaces', 'deletecollection', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  ['DELETE', '/api/v1/namespaces/other/pods', 'deletecollection', '', 'v1', 'other', 'pods', '', '', ['pods']],
  ['DELETE', '/apis/extensions/v1/namespaces/other/pods', 'deletecollection', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
  // api group and version identification
  ['POST', '/apis/extensions/v1/namespaces/other/pods', 'create', 'extensions', 'v1', 'other', 'pods', '', '', ['pods']],
  ['POST', '/apis/extensions/v1beta3/namespaces/other/pods', 'create', 'extensions', 'v1beta3', 'other', 'pods', '', '', ['pods']],
  ['GET', '/apis/apps/v1/deployments', 'list', 'apps', 'v1', '', 'deployments', '', '', ['deployments']],
  // streams into a pod are `create` whatever the method (the WebSocket upgrade is a GET)
  ['GET', '/api/v1/namespaces/other/pods/foo/exec?command=sh&stdin=true&tty=true', 'create', '', 'v1', 'other', 'pods', 'exec', 'foo', ['pods', 'foo', 'exec']],
  ['POST', '/api/v1/namespaces/other/pods/foo/exec?command=sh', 'create', '', 'v1', 'other', 'pods', 'exec', 'foo', ['pods', 'foo', 'exec']],
  ['GET', '/api/v1/namespaces/other/pods/foo/attach?stdout=true', 'create', '', 'v1', 'other', 'pods', 'attach', 'foo', ['pods', 'foo', 'attach']],
  ['GET', '/api/v1/namespaces/other/pods/foo/portforward?ports=80', 'create', '', 'v1', 'other', 'pods', 'portforward', 'foo', ['pods', 'foo', 'portforward']],
  // logs stay a `get` of the log subresource, follow or not
  ['GET', '/api/v1/namespaces/other/pods/foo/log?follow=true', 'get', '', 'v1', 'other', 'pods', 'log', 'foo', ['pods', 'foo', 'log']],
];

describe('kubeRequestInfo: resource requests', () => {
  it.each(resourceCases)('%s %s', (method, url, verb, apiGroup, apiVersion, namespace, resource, subresource, name, parts) => {
    expect(kubeRequestInfo(method, url)).toMatchObject({ isResourceRequest: true, verb, apiGroup, apiVersion, namespace, resource, subresource, name, parts });
  });

  it('keeps the path without the query and the api prefix', () => {
    expect(kubeRequestInfo('GET', '/apis/apps/v1/namespaces/a/deployments/web?x=1')).toMatchObject({ path: '/apis/apps/v1/namespaces/a/deployments/web', apiPrefix: 'apis' });
  });
});

describe('kubeRequestInfo: non-resource requests', () => {
  const nonResource: Array<[string, string, string]> = [
    ['GET', '/', 'get'],
    ['GET', '', 'get'],
    ['GET', '/api', 'get'],
    ['GET', '/api/v1', 'get'],
    ['GET', '/api/version/', 'get'],
    ['GET', '/apis', 'get'],
    ['GET', '/apis/apps/v1', 'get'],
    ['GET', '/apis/group/version/', 'get'],
    ['GET', '/apis/version/resource', 'get'],
    ['GET', '/badprefix/version/resource', 'get'],
    ['GET', '/not-api/version/resource', 'get'],
    ['GET', '/version', 'get'],
    ['GET', '/openapi/v3/apis/apps/v1', 'get'],
    ['GET', '/healthz', 'get'],
    ['POST', '/openapi/v2', 'post'],
    ['HEAD', '/version', 'head'],
  ];
  it.each(nonResource)('%s %s', (method, url, verb) => {
    expect(kubeRequestInfo(method, url)).toMatchObject({ isResourceRequest: false, verb, resource: '', namespace: '' });
  });

  const resource: string[] = ['/api/version/resource', '/apis/group/version/resource/name/subresource', '/api/version/resource/name/subresource', '/apis/batch/v1/job', '/apis/batch/v1/job/foo', '/apis/batch/v1/job/foo/scale'];
  it.each(resource)('%s is a resource request', (url) => {
    expect(kubeRequestInfo('GET', url).isResourceRequest).toBe(true);
  });

  it('a special verb with nothing after it names no resource', () => {
    expect(kubeRequestInfo('GET', '/api/v1/watch').isResourceRequest).toBe(false);
  });
});

describe('kubeRequestInfo: field selectors name the object (TestFieldSelectorParsing)', () => {
  const cases: Array<[string, string, string]> = [
    ['/apis/group/version/resource', '', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name=name1', 'name1', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name%3D%3Dname1', 'name1', 'list'],
    ['/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1', 'name1', 'watch'],
    ['/apis/group/version/resource?fieldSelector=foo=bar', '', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name!%3Dname1', '', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name=name1,foo', '', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true', '', 'watch'],
    ['/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false', '', 'list'],
    ['/apis/group/version/resource?fieldSelector=metadata.name=a%2Fb', '', 'list'],
    ['/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-0%2Cstatus.phase%3DRunning', 'web-0', 'list'],
  ];
  it.each(cases)('%s', (url, name, verb) => {
    expect(kubeRequestInfo('GET', url)).toMatchObject({ name, verb });
  });

  it('a named DELETE is delete; a field-selected one is still deletecollection', () => {
    expect(kubeRequestInfo('DELETE', '/api/v1/namespaces/a/pods?fieldSelector=metadata.name=x').verb).toBe('deletecollection');
  });

  it('exactFieldMatch honours escapes', () => {
    expect(exactFieldMatch('metadata.name=a\\,b', 'metadata.name')).toBe('a,b');
    expect(exactFieldMatch('spec.x=1,metadata.name=n', 'metadata.name')).toBe('n');
    expect(exactFieldMatch(null, 'metadata.name')).toBeUndefined();
  });
});

describe('kubeRequestInfo: paths read as the upstream reads them', () => {
  it('decodes the path before splitting it, as Go does', () => {
    expect(kubeRequestInfo('GET', '/api/v1/namespaces/default/pods%2Fweb/exec?command=sh')).toMatchObject({ verb: 'create', resource: 'pods', name: 'web', subresource: 'exec' });
    expect(kubeRequestInfo('GET', '/api/v1/namespaces/d%65fault/pods')).toMatchObject({ verb: 'list', namespace: 'default' });
  });

  it.each([
    '/api/v1/namespaces/default/pods/web/..%2F..%2Fsecrets',
    '/api/v1/namespaces/default/pods/./web',
    '/api/v1/namespaces//pods',
    '/api/v1/namespaces/default/pods/%zz',
    '/apis/apps/v1/namespaces/default/deployments/web/%2E%2E/x',
  ])('refuses %s', (target) => {
    expect(() => kubeRequestInfo('GET', target)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('tolerates a trailing slash, as the upstream does', () => {
    expect(kubeRequestInfo('GET', '/api/v1/namespaces/default/pods/')).toMatchObject({ verb: 'list', resource: 'pods' });
  });

  it('drops query pairs holding a semicolon, as Go does', () => {
    expect(kubeRequestInfo('GET', '/api/v1/pods?watch=false;watch=true').verb).toBe('list');
    expect(kubeRequestInfo('GET', '/api/v1/pods?a=1;b=2&watch=true').verb).toBe('watch');
    expect(kubeRequestInfo('GET', '/api/v1/pods?watch=1&watch=false').verb).toBe('watch');
  });
});
