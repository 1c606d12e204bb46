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
