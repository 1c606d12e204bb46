import { expect } from 'chai';
import { bodyFields, cleanPath, goPathUnescape, parseVaultRequest } from '../../../src/vault/request.js';

function parse(method: string, target: string, headers: Array<[string, string]> = []) {
  const lines = new Map<string, string[]>([[':method', [method]], [':path', [target]]]);
  for (const [k, v] of headers) lines.set(k, [...(lines.get(k) ?? []), v]);
  return parseVaultRequest(lines);
}

describe('vault: the canonical request, read as Vault 1.15 reads it', () => {
  it("decodes the path as Go's URL.Path: every escape, %2F included, + kept", () => {
    expect(goPathUnescape('/v1/auth/token/lookup-sel%66')).to.equal('/v1/auth/token/lookup-self');
    expect(goPathUnescape('/v1/auth%2Ftoken%2Flookup-self')).to.equal('/v1/auth/token/lookup-self');
    expect(goPathUnescape('/v1/a+b')).to.equal('/v1/a+b');
    expect(goPathUnescape('/v1/%zz')).to.equal(undefined);
    expect(goPathUnescape('/v1/%e2%82%ac')).to.equal('/v1/€');
    expect(goPathUnescape('/v1/%ff')).to.equal(undefined); // not UTF-8: not read as Vault reads it
  });

  it("cleans like Go's ServeMux; a path it would redirect is not exact", () => {
    expect(cleanPath('/v1/a//b')).to.equal('/v1/a/b');
    expect(cleanPath('/v1/a/./b/')).to.equal('/v1/a/b/');
    expect(cleanPath('/v1/a/../b')).to.equal('/v1/b');
    for (const t of ['/v1/secret//data/x', '/v1/secret/./data/x', '/v1/secret/data/y/../x', '/v1/secret/data/y%2F..%2Fx', '/v1/%zz']) {
      expect(parse('GET', t).exact, t).to.equal(false);
    }
    expect(parse('GET', '/v1/secret/data/x/').exact).to.equal(true);
    expect(parse('GET', '/v1/secret/data/x').rel).to.equal('secret/data/x');
  });

  it('keeps the method as sent (Vault is case-sensitive)', () => {
    expect(parse('get', '/v1/x').method).to.equal('get');
  });

  it("reads the token by Vault's rules: X-Vault-Token's first line, else the first `Bearer ` Authorization line", () => {
    expect(parse('GET', '/v1/x', [['x-vault-token', 'a'], ['x-vault-token', 'b']])).to.include({ token: 'a', tokenSource: 'x-vault-token', tokenRepeated: true });
    expect(parse('GET', '/v1/x', [['authorization', 'Bearer  t1 ']])).to.include({ token: 't1', tokenSource: 'bearer', tokenRepeated: false });
    expect(parse('GET', '/v1/x', [['authorization', 'bearer t1']]).token).to.equal(undefined);
    expect(parse('GET', '/v1/x', [['authorization', 'BEARER t1']]).token).to.equal(undefined);
    expect(parse('GET', '/v1/x', [['authorization', 'Basic x'], ['authorization', 'Bearer t2']])).to.include({ token: 't2', tokenRepeated: true });
    expect(parse('GET', '/v1/x', [['x-vault-token', ''], ['authorization', 'Bearer t3']])).to.include({ token: 't3', tokenSource: 'bearer' });
    expect(parse('GET', '/v1/x', [['x-vault-token', 'v'], ['authorization', 'Bearer t3']])).to.include({ token: 'v', tokenSource: 'x-vault-token' });
  });

  it("decodes the query as Go's URL.Query(): + is a space, bad pairs dropped and the query marked", () => {
    expect(parse('GET', '/v1/x?%76ersion=1&a=b+c').query).to.deep.equal([['version', '1'], ['a', 'b c']]);
    const bad = parse('GET', '/v1/x?a=%zz&b=1');
    expect(bad.query).to.deep.equal([['b', '1']]);
    expect(bad.exact).to.equal(false);
    expect(parse('GET', '/v1/x?a=1;b=2').exact).to.equal(false);
  });

  it('lists the headers that change what Vault answers', () => {
    const r = parse('GET', '/v1/x', [['x-vault-wrap-ttl', '60'], ['x-vault-token', 't'], ['x-vault-request', 'true'], ['x-vault-namespace', 'ns1'], ['x-vault-mfa', 'm'], ['x-request-id', 'i']]);
    expect(r.answerHeaders).to.deep.equal(['x-vault-wrap-ttl', 'x-vault-mfa']);
    expect(r.namespace).to.equal('ns1');
  });

  it('reads POST bodies as Vault does: JSON, or a form when the content type says so', () => {
    expect(bodyFields(Buffer.from('{"token":"a"}'), 'application/json')).to.deep.equal({ token: 'a' });
    expect(bodyFields(Buffer.from('{"token":"a"}'), 'application/x-www-form-urlencoded')).to.deep.equal({ token: 'a' });
    expect(bodyFields(Buffer.from('token=a%2Bb'), 'application/x-www-form-urlencoded')).to.deep.equal({ token: 'a+b' });
    expect(bodyFields(Buffer.from('token=a&token=b'), 'application/x-www-form-urlencoded')).to.equal(undefined);
    expect(bodyFields(Buffer.from('token=a'), 'text/plain')).to.equal(undefined);
    expect(bodyFields(undefined, undefined)).to.deep.equal({});
  });
});
