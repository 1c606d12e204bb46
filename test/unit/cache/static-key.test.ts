import { expect } from 'chai';
import { staticKeyOf } from '../../../src/cache/static-key.js';
import { parseVaultRequest } from '../../../src/vault/request.js';

function req(method: string, target: string, headers: Array<[string, string]> = []) {
  const lines = new Map<string, string[]>([[':method', [method]], [':path', [target]], ['x-vault-token', ['hvs.t']]]);
  let ownToken = false;
  for (const [k, v] of headers) {
    const keep = k === 'x-vault-token' && !ownToken ? [] : lines.get(k) ?? [];
    if (k === 'x-vault-token') ownToken = true;
    lines.set(k, [...keep, v]);
  }
  return parseVaultRequest(lines);
}

describe('cache: static keys (golden, an allow-list)', () => {
  const cases: Array<[string, string, Array<[string, string]>, boolean | undefined, { path: string; version: number; header?: string } | undefined]> = [
    ['GET', '/v1/secret/data/app', [], false, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', [], undefined, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app?version=3', [], false, { path: 'secret/data/app', version: 3 }],
    ['GET', '/v1/secret/data/a%20b', [], false, { path: 'secret/data/a b', version: 0 }],
    ['GET', '/v1/secret/data/%61pp', [], false, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/ns1/secret/data/app', [], false, { path: 'ns1/secret/data/app', version: 0 }],
    // Namespaces: only where Vault has them; while unknown, a namespaced request is not cached.
    ['GET', '/v1/secret/data/app', [['x-vault-namespace', 'ns1']], true, { path: 'ns1/secret/data/app', version: 0, header: 'ns1/' }],
    ['GET', '/v1/secret/data/app', [['x-vault-namespace', '/ns1/']], true, { path: 'ns1/secret/data/app', version: 0, header: 'ns1/' }],
    ['GET', '/v1/secret/data/app', [['x-vault-namespace', 'ns1']], false, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/data/app', [['x-vault-namespace', 'ns1']], undefined, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-namespace', 'root']], true, { path: 'secret/data/app', version: 0 }],
    // Anything else in the query: not cached (help, list, repeated keys, encodings, version=0).
    ['GET', '/v1/secret/data/app?help=1', [], false, undefined],
    ['GET', '/v1/secret/data/app?help=1&version=1', [], false, undefined],
    ['GET', '/v1/secret/data/app?version=1&version=2', [], false, undefined],
    ['GET', '/v1/secret/data/app?%76ersion=1', [], false, undefined],
    ['GET', '/v1/secret/data/app?version=0', [], false, undefined],
    ['GET', '/v1/secret/data/app?version=01', [], false, undefined],
    ['GET', '/v1/secret/data/app?version=abc', [], false, undefined],
    ['GET', '/v1/secret/data/app?other=1&version=2', [], false, undefined],
    ['GET', '/v1/secret/data/app?', [], false, { path: 'secret/data/app', version: 0 }],
    ['GET', '/v1/secret/metadata/app?list=true', [], false, undefined],
    // Methods are case-sensitive in Vault: `get` is not a read.
    ['get', '/v1/secret/data/app', [], false, undefined],
    ['LIST', '/v1/secret/metadata/app', [], false, undefined],
    ['HEAD', '/v1/secret/data/app', [], false, undefined],
    ['POST', '/v1/secret/data/app', [], false, undefined],
    // Paths Vault redirects or refuses, and trailing slashes.
    ['GET', '/v1/secret/data/app/', [], false, undefined],
    ['GET', '/v1/secret//data/app', [], false, undefined],
    ['GET', '/v1/secret/./data/app', [], false, undefined],
    ['GET', '/v1/secret/data/x/../app', [], false, undefined],
    ['GET', '/v1/secret/data/x%2F..%2Fapp', [], false, undefined],
    ['GET', '/v1/secret/data/%zz', [], false, undefined],
    ['GET', '/v1/secret/data/%ff', [], false, undefined],
    ['GET', '/agent/v1/cache-clear', [], false, undefined],
    ['GET', '/v1/', [], false, undefined],
    // Headers that change Vault's answer, and a second token header.
    ['GET', '/v1/secret/data/app', [['x-vault-wrap-ttl', '60']], false, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-policy-override', 'true']], false, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-index', 'abc']], false, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-inconsistent', 'forward-active-node']], false, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-mfa', 'x']], false, undefined],
    ['GET', '/v1/secret/data/app', [['x-vault-token', 'a'], ['x-vault-token', 'b']], false, undefined],
  ];
  for (const [method, target, headers, namespaces, want] of cases) {
    const h = headers.map(([k, v]) => `${k}: ${v}`).join(', ');
    it(`${method} ${target}${h ? ` (${h})` : ''}${namespaces === undefined ? ' [namespaces unknown]' : namespaces ? ' [namespaces]' : ''} → ${want ? `${want.path}@${want.version}` : 'not cacheable'}`, () => {
      expect(staticKeyOf(req(method, target, headers), namespaces)).to.deep.equal(want && { header: '', ...want });
    });
  }
});
