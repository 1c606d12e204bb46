import { expect } from 'chai';
import { canonicalBody, leaseKey } from '../../../src/cache/lease-key.js';

describe('lease cache: the canonical body keeps every field Vault reads', () => {
  it('a `__proto__` field is a field like any other (sorted, kept, its own keys sorted), and numeric keys sort as JSON objects order them', () => {
    const body = Buffer.from('{"b":1,"__proto__":{"z":1,"a":2},"10":1,"2":1}');
    expect(canonicalBody(body, 'application/json')).to.equal('{"2":1,"10":1,"__proto__":{"a":2,"z":1},"b":1}');
  });

  it('two requests that differ only in a `__proto__` field have different keys', () => {
    const base = { method: 'POST', rel: 'auth/approle/login', query: [] as Array<[string, string]>, namespace: '', tokenHash: undefined, contentType: 'application/json' };
    const a = leaseKey({ ...base, body: Buffer.from('{"role_id":"r","__proto__":{"x":1}}') });
    const b = leaseKey({ ...base, body: Buffer.from('{"role_id":"r","__proto__":{"x":2}}') });
    const c = leaseKey({ ...base, body: Buffer.from('{"role_id":"r"}') });
    expect(a).to.be.a('string');
    expect(new Set([a, b, c]).size).to.equal(3);
  });
});

describe('lease cache: a JSON body naming a key twice is never keyed (Vault 1.21 refuses it, Vault 1.15 reads the last)', () => {
  const base = { method: 'POST', rel: 'auth/approle/login', query: [] as Array<[string, string]>, namespace: '', tokenHash: undefined, contentType: 'application/json' };

  for (const [what, body] of [
    ['at the top', '{"role_id":"wrong","role_id":"r","secret_id":"s"}'],
    ['nested', '{"policies":["reader"],"meta":{"n":"c1","n":"c2"}}'],
    ['in an object inside an array', '{"a":[{"k":1},{"k":1,"k":2}]}'],
    ['once escaped (\\u0072ole_id is role_id)', '{"role_id":"r","\\u0072ole_id":"r"}'],
    ['with a form content type (read as JSON)', '{"meta":"x","meta":{"n":"c1"}}'],
  ] as const) {
    it(`no key: ${what}`, () => {
      expect(leaseKey({ ...base, body: Buffer.from(body) })).to.equal(undefined);
      expect(canonicalBody(Buffer.from(body), 'application/x-www-form-urlencoded')).to.equal(undefined);
    });
  }

  it('the same key in different objects, a key equal to a value, or a quote inside a string are no duplicates', () => {
    for (const body of ['{"a":{"k":1},"b":{"k":1}}', '{"k":"k","v":"k"}', '{"a":"x\\"a\\":1","b":[{"a":1},{"a":2}]}', ' {"role_id":"r","secret_id":"s"}']) {
      expect(leaseKey({ ...base, body: Buffer.from(body) }), body).to.be.a('string');
    }
  });
});
