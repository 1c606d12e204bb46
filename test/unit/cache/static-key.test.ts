import { expect } from 'chai';
import { staticKeyOf } from '../../../src/cache/static-key.js';

describe('cache: static keys (golden)', () => {
  const cases: Array<[string, string, string, string | undefined, { path: string; version: number } | undefined]> = [
    ['GET', '/v1/secret/data/app', '', undefined, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app/', '', undefined, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', 'version=3', undefined, { path: 'secret/data/app', version: 3 }],
    ['GET', '/v1/secret/data/app', 'version=abc', undefined, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', 'other=1&version=2', undefined, { path: 'secret/data/app', version: 2 }],
    ['GET', '/v1/secret/data/app', '', 'ns1', { path: 'ns1/secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', '', '/ns1/', { path: 'ns1/secret/data/app', version: 0 }],
    ['GET', '/v1/ns1/secret/data/app', '', undefined, { path: 'ns1/secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', '', 'root', { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/a%20b', '', undefined, { path: 'secret/data/a b', version: 0 }],
    ['GET', '/v1/secret/metadata/app', 'list=true', undefined, undefined],
    ['GET', '/v1/secret/metadata/app', 'list=1', undefined, undefined],
    ['LIST', '/v1/secret/metadata/app', '', undefined, undefined],
    ['POST', '/v1/secret/data/app', '', undefined, undefined],
    ['GET', '/agent/v1/cache-clear', '', undefined, undefined],
    ['GET', '/v1/secret/../sys/x', '', undefined, undefined],
    ['GET', '/v1/', '', undefined, undefined],
  ];
  for (const [method, path, query, ns, want] of cases) {
    it(`${method} ${path}${query ? `?${query}` : ''}${ns ? ` (namespace ${ns})` : ''} → ${want ? `${want.path}@${want.version}` : 'not cacheable'}`, () => {
      expect(staticKeyOf(method, path, query, ns)).to.deep.equal(want);
    });
  }
});
