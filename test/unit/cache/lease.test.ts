import { expect } from 'chai';
import { parseCacheClear } from '../../../src/cache/cache-clear.js';
import { LeaseCache, type LeaseEntry } from '../../../src/cache/lease-cache.js';
import { canonicalBody, leaseKey } from '../../../src/cache/lease-key.js';
import { isLeaseCandidate, isRenewPath, leaseRecordOf, matchRevocation, revocationValue } from '../../../src/cache/lease-rules.js';
import { parseVaultRequest } from '../../../src/vault/request.js';

const base = { method: 'POST', rel: 'auth/approle/login', query: [] as Array<[string, string]>, body: Buffer.from('{"role_id":"r","secret_id":"s"}'), namespace: '', tokenHash: undefined };

function req(method: string, target: string, headers: Record<string, string> = {}) {
  return parseVaultRequest(new Map([[':method', [method]], [':path', [target]], ...Object.entries(headers).map(([k, v]) => [k, [v]] as [string, string[]])]));
}

describe('cache: lease keys (golden)', () => {
  it('pins the key of a request', () => {
    expect(leaseKey(base)).to.equal('pVZ4MkeXTHIvNbeE5md4_n18d2Zi3vmSyATVhDI_Y7c');
  });
  it('ignores JSON key order and query order', () => {
    expect(leaseKey({ ...base, body: Buffer.from('{ "secret_id": "s", "role_id": "r" }') })).to.equal(leaseKey(base));
    expect(leaseKey({ ...base, query: [['b', '2'], ['a', '1']] })).to.equal(leaseKey({ ...base, query: [['a', '1'], ['b', '2']] }));
    expect(canonicalBody(Buffer.from('{"b":{"y":1,"x":[{"d":1,"c":2}]},"a":null}'))).to.equal('{"a":null,"b":{"x":[{"c":2,"d":1}],"y":1}}');
  });
  it('keeps X-Vault-Namespace apart from a namespace in the path: `ns1` + `db/creds/r` is not `ns1/db/creds/r` (OpenBao answers the first 404 when no namespace `ns1` exists, and the second may be a root mount of that name)', () => {
    const get = { ...base, method: 'GET', body: undefined, tokenHash: 'h' };
    const byHeader = leaseKey({ ...get, rel: 'db/creds/r', namespace: 'ns1/' });
    const byPath = leaseKey({ ...get, rel: 'ns1/db/creds/r' });
    const splitElsewhere = leaseKey({ ...get, rel: 'creds/r', namespace: 'ns1/db/' });
    expect(new Set([byHeader, byPath, splitElsewhere]).size).to.equal(3);
    expect(leaseKey({ ...get, rel: 'db/creds/r', namespace: 'ns1/' })).to.equal(byHeader);
  });
  it('reads the body as Vault does: a form only with its content type; what Vault might read otherwise is not cached', () => {
    const form = { ...base, body: Buffer.from('role_id=r&secret_id=s') };
    expect(leaseKey({ ...form, contentType: 'application/x-www-form-urlencoded' })).to.equal(leaseKey(base));
    expect(leaseKey({ ...form, contentType: 'application/json' })).to.equal(undefined); // Vault: 400
    expect(leaseKey(form)).to.equal(undefined);
    expect(leaseKey({ ...base, body: Buffer.from('{"role_id":"r","secret_id":"s"}x') })).to.equal(undefined); // Go ignores the tail; we cannot be sure
    expect(leaseKey({ ...base, body: Buffer.from('not json') })).to.equal(undefined);
  });

  it('changes with the method, path, body, namespace and token', () => {
    const k = leaseKey(base);
    for (const other of [
      { ...base, method: 'PUT' }, { ...base, rel: 'auth/approle2/login' }, { ...base, body: Buffer.from('{"role_id":"r2","secret_id":"s"}') },
      { ...base, namespace: 'ns2/' }, { ...base, tokenHash: 'h' }, { ...base, query: [['a', '1']] as Array<[string, string]> }, { ...base, rel: 'auth/approle/login/' },
    ]) expect(leaseKey(other)).not.to.equal(k);
  });
});

describe('cache: lease rules', () => {
  it('knows the renew paths, which are never cached', () => {
    for (const p of ['/v1/sys/leases/renew', '/v1/sys/renew', '/v1/sys/leases/renew/db/creds/x/abc', '/v1/auth/token/renew', '/v1/auth/token/renew-self', '/v1/auth/token/renew-accessor', '/v1/ns1/sys/leases/renew',
      '/v1/auth/token/renew-sel%66', '/v1/auth%2Ftoken%2Frenew-self', '/v1/sys/leases/%72enew']) {
      expect(isRenewPath(req('POST', p).rel!), p).to.equal(true);
      expect(isLeaseCandidate(req('POST', p)), p).to.equal(false);
    }
    expect(isLeaseCandidate(req('GET', '/v1/database/creds/app'))).to.equal(true);
    expect(isLeaseCandidate(req('GET', '/v1/database/creds/app', { 'x-vault-wrap-ttl': '60' }))).to.equal(false);
    expect(isLeaseCandidate(req('POST', '/v1/sys/wrapping/unwrap'))).to.equal(false);
  });

  it('is an allow-list: exact methods, clean paths, no answer-changing headers, one token header', () => {
    expect(isLeaseCandidate(req('get', '/v1/database/creds/app'))).to.equal(false);
    expect(isLeaseCandidate(req('PATCH', '/v1/database/creds/app'))).to.equal(false);
    expect(isLeaseCandidate(req('GET', '/v1/database//creds/app'))).to.equal(false);
    expect(isLeaseCandidate(req('GET', '/v1/database/creds/%zz'))).to.equal(false);
    expect(isLeaseCandidate(req('POST', '/v1/auth/userpass/login/u', { 'x-vault-mfa': 'id:123456' }))).to.equal(false);
    expect(isLeaseCandidate(req('POST', '/v1/auth/userpass/login/u', { 'x-vault-policy-override': 'true' }))).to.equal(false);
    const repeated = parseVaultRequest(new Map([[':method', ['GET']], [':path', ['/v1/database/creds/app']], ['x-vault-token', ['a', 'b']]]));
    expect(isLeaseCandidate(repeated)).to.equal(false);
  });

  it('matches every revocation path, namespaced and legacy forms included', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['/v1/auth/token/revoke', 'token', undefined],
      ['/v1/ns1/auth/token/revoke', 'token', undefined],
      ['/v1/auth/token/revoke-self', 'token-self', undefined],
      ['/v1/auth/token/revoke-accessor', 'accessor', undefined],
      ['/v1/auth/token/revoke-orphan', 'orphan', undefined],
      ['/v1/sys/leases/revoke', 'lease', undefined],
      ['/v1/sys/revoke', 'lease', undefined],
      ['/v1/sys/leases/revoke/database/creds/app/abc', 'lease', 'database/creds/app/abc'],
      ['/v1/sys/revoke/database/creds/app/abc', 'lease', 'database/creds/app/abc'],
      ['/v1/ns1/sys/leases/revoke/x/y', 'lease', 'x/y'],
      ['/v1/sys/leases/revoke-prefix/database/creds', 'lease-prefix', 'database/creds'],
      ['/v1/sys/leases/revoke-force/database', 'lease-prefix', 'database'],
      ['/v1/sys/revoke-prefix/database', 'lease-prefix', 'database'],
    ];
    cases.push(['/v1/auth/token/revoke-sel%66', 'token-self', undefined], ['/v1/auth%2Ftoken%2Frevoke-accessor', 'accessor', undefined],
      ['/v1/sys/leases/revoke-prefix/auth%2Ftoken%2Fcreate', 'lease-prefix', 'auth/token/create'], ['/v1/sys/leases/revoke/a%252Fb', 'lease', 'a%2Fb']);
    for (const [path, kind, urlValue] of cases) {
      expect(matchRevocation('PUT', req('PUT', path).rel!), path).to.deep.equal(urlValue === undefined ? { kind } : { kind, urlValue });
    }
    // Renewals (a renewal may shorten a TTL), disabled auth methods and privilege changes.
    expect(matchRevocation('POST', 'auth/token/renew-self')).to.deep.equal({ kind: 'renew-self' });
    expect(matchRevocation('POST', 'auth/token/renew-accessor')).to.deep.equal({ kind: 'renew-accessor' });
    expect(matchRevocation('PUT', 'sys/leases/renew/auth/token/create/h1')).to.deep.equal({ kind: 'lease-renew', urlValue: 'auth/token/create/h1' });
    expect(matchRevocation('DELETE', 'sys/auth/userpass')).to.deep.equal({ kind: 'auth-disable', urlValue: 'auth/userpass' });
    expect(matchRevocation('POST', 'sys/auth/userpass')).to.equal(undefined);
    for (const [m, p] of [['PUT', 'sys/policy/app'], ['DELETE', 'sys/policies/acl/app'], ['POST', 'identity/entity/id/e1'], ['POST', 'identity/group'], ['POST', 'sys/remount']]) {
      expect(matchRevocation(m!, p!), `${m} ${p}`).to.deep.equal({ kind: 'privileges' });
    }
    expect(matchRevocation('GET', 'sys/policy/app')).to.equal(undefined);
    expect(matchRevocation('GET', 'auth/token/revoke')).to.equal(undefined);
    expect(matchRevocation('post', 'auth/token/revoke')).to.equal(undefined);
    expect(matchRevocation('POST', 'auth/token/revoked')).to.equal(undefined);
  });

  it('reads what a revocation names from its body, exactly', () => {
    expect(revocationValue({ kind: 'token' }, Buffer.from('{"token":"hvs.x"}'), 'hvs.req')).to.equal('hvs.x');
    expect(revocationValue({ kind: 'token-self' }, undefined, 'hvs.req')).to.equal('hvs.req');
    expect(revocationValue({ kind: 'accessor' }, Buffer.from('{"accessor":"acc"}'), undefined)).to.equal('acc');
    expect(revocationValue({ kind: 'lease' }, Buffer.from('{"lease_id":"l/1"}'), undefined)).to.equal('l/1');
    expect(revocationValue({ kind: 'token' }, Buffer.from('garbage'), undefined)).to.equal(undefined);
    // Vault reads form bodies too, and only the first JSON value.
    expect(revocationValue({ kind: 'accessor' }, Buffer.from('accessor=acc%2B1'), undefined, 'application/x-www-form-urlencoded')).to.equal('acc+1');
    expect(revocationValue({ kind: 'token' }, Buffer.from('{"token":"a"} trailing'), undefined)).to.equal(undefined);
  });

  it('records renewable tokens and leases only', () => {
    const rec = (o: unknown) => leaseRecordOf(Buffer.from(JSON.stringify(o)));
    expect(rec({ auth: { client_token: 'hvs.a', accessor: 'x', renewable: true, orphan: true, lease_duration: 60 } })).to.deep.equal({ kind: 'token', clientToken: 'hvs.a', accessor: 'x', orphan: true, ttlSeconds: 60 });
    expect(rec({ auth: { client_token: 'hvb.a', renewable: false, token_type: 'batch' } })).to.equal(undefined);
    expect(rec({ auth: { client_token: 'hvs.a', renewable: false } })).to.equal(undefined);
    expect(rec({ lease_id: 'db/creds/x/1', renewable: true, lease_duration: 30 })).to.deep.equal({ kind: 'lease', leaseId: 'db/creds/x/1', ttlSeconds: 30 });
    expect(rec({ lease_id: 'db/creds/x/1', renewable: false })).to.equal(undefined);
    expect(rec({ wrap_info: { token: 'w' }, auth: null })).to.equal(undefined);
    expect(leaseRecordOf(Buffer.from('not json'))).to.equal(undefined);
  });
});

describe('cache: the lease cache ownership tree', () => {
  const resp = { status: 200, headers: [] as Array<[string, string]>, body: new Uint8Array(10), storedAtMs: 0 };
  const entry = (key: string, extra: Partial<LeaseEntry>): LeaseEntry => ({ key, kind: 'lease', response: resp, requestPath: 'p', namespace: '', ...extra });

  function tree(): { c: LeaseCache; evicted: string[] } {
    const evicted: string[] = [];
    const c = new LeaseCache((e) => evicted.push(e.key));
    c.record(entry('parent', { kind: 'token', tokenHash: 'P', accessor: 'accP', ownerHash: 'AUTO' }));
    c.record(entry('child', { kind: 'token', tokenHash: 'C', ownerHash: 'P' }));
    c.record(entry('lease-p', { leaseId: 'db/1', ownerHash: 'P' }));
    c.record(entry('lease-c', { leaseId: 'db/2', ownerHash: 'C' }));
    c.record(entry('orphan', { kind: 'token', tokenHash: 'O' }));
    return { c, evicted };
  }

  it('evicting a token evicts its leases and children, recursively, and only those', () => {
    const { c, evicted } = tree();
    c.evictToken('P', 'revoked');
    expect(evicted.sort()).to.deep.equal(['child', 'lease-c', 'lease-p', 'parent']);
    expect(c.size).to.equal(1);
    expect(c.managesToken('O')).to.equal(true);
    expect(c.managesToken('P')).to.equal(false);
  });

  it('revoke-orphan keeps the children, now orphans', () => {
    const { c, evicted } = tree();
    c.evictTokenOrphaningChildren('P');
    expect(evicted.sort()).to.deep.equal(['lease-p', 'parent']);
    expect(c.lookup('child')?.ownerHash).to.equal(undefined);
    c.evictOwnedBy('AUTO', 'reauth');
    expect(c.lookup('child')).not.to.equal(undefined);
  });

  it('exact matches for accessors and leases; whole segments for prefixes', () => {
    const { c, evicted } = tree();
    c.record(entry('lease-ab', { leaseId: 'dbx/1', ownerHash: 'O' }));
    expect(c.evictAccessor('acc', 'revoked')).to.deep.equal([]);
    expect(c.evictLease('db', 'revoked')).to.deep.equal([]);
    c.evictLeasePrefix('db', 'revoked');
    expect(evicted.sort()).to.deep.equal(['lease-c', 'lease-p']);
    expect(c.lookup('lease-ab')).not.to.equal(undefined);
  });

  it('a re-login retires everything the old auto-auth token owned', () => {
    const { c, evicted } = tree();
    c.evictOwnedBy('AUTO', 'reauth');
    expect(evicted.sort()).to.deep.equal(['child', 'lease-c', 'lease-p', 'parent']);
  });
});

describe('cache: cache-clear bodies', () => {
  const cases: Array<[string | undefined, unknown]> = [
    ['{"type":"all"}', { ok: true, command: { type: 'all' } }],
    ['{"type":"request_path","value":"/v1/db","namespace":"ns1"}', { ok: true, command: { type: 'request_path', value: '/v1/db', namespace: 'ns1' } }],
    ['{"type":"lease","value":"db/1"}', { ok: true, command: { type: 'lease', value: 'db/1' } }],
    [undefined, { ok: false, error: 'failed to parse JSON input: empty JSON provided' }],
    ['[]', { ok: false, error: 'failed to parse JSON input: expected a JSON object' }],
    ['{"value":"x"}', { ok: false, error: 'failed to parse clear input: no type provided' }],
    ['null', { ok: false, error: 'failed to parse clear input: no type provided' }],
    ['{"type":7}', { ok: false, error: 'failed to clear cache: invalid type provided' }],
    ['{"type":"token_accessor","value":""}', { ok: false, error: 'failed to clear cache: token accessor not provided' }],
  ];
  for (const [body, want] of cases) {
    it(`${body ?? '(empty)'}`, () => {
      expect(parseCacheClear(body === undefined ? undefined : Buffer.from(body))).to.deep.equal(want);
    });
  }
});
