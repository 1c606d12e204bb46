import { expect } from 'chai';
import { TokenGrants } from '../../../src/cache/token-grants.js';

describe('cache: token grants — who may be served from the cache now', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('no grant until the worker looked the token up; then one window from the lookup', () => {
    const g = new TokenGrants(10_000, clock);
    expect(g.sawRead('h', now)).to.equal(true);
    expect(g.allows('h', now)).to.equal(false);
    const waiting = g.pendingFor('h');
    expect(waiting).to.be.instanceOf(Promise);
    g.info('h', 'acc', true, now);
    expect(g.allows('h', now + 9_999)).to.equal(true);
    expect(g.allows('h', now + 10_000)).to.equal(false);
    expect(g.tokenOfAccessor('acc')).to.equal('h');
    return waiting;
  });

  it('a use-limited (ineligible) token is never granted, whatever confirms it later', () => {
    const g = new TokenGrants(10_000, clock);
    g.sawRead('u', now);
    g.info('u', 'acc-u', false, now);
    g.confirmed(['u'], now);
    expect(g.sawRead('u', now)).to.equal(false);
    expect(g.allows('u', now)).to.equal(false);
    expect(g.isIneligible('u')).to.equal(true);
  });

  it('confirmations and reads Vault answered extend the grant; nothing else does', () => {
    const g = new TokenGrants(10_000, clock);
    g.sawRead('h', now);
    g.info('h', 'acc', true, now);
    g.confirmed(['h', 'unknown'], now + 5_000);
    expect(g.allows('h', now + 14_000)).to.equal(true);
    expect(g.allows('unknown', now + 5_000)).to.equal(false);
    g.sawRead('h', now + 8_000);
    expect(g.allows('h', now + 17_000)).to.equal(true);
    expect(g.allows('h', now + 18_000)).to.equal(false);
  });

  it('after a revocation that may cascade, only confirmations begun later bring a grant back', () => {
    const g = new TokenGrants(10_000, clock);
    g.sawRead('h', now);
    g.info('h', 'acc', true, now);
    now += 100;
    g.expireAll();
    expect(g.allows('h', now)).to.equal(false);
    g.confirmed(['h'], now - 50); // a check that began before the revocation proves nothing
    g.sawRead('h', now); // nor a read sent before it
    expect(g.allows('h', now + 1)).to.equal(false);
    g.confirmed(['h'], now + 1);
    expect(g.allows('h', now + 2)).to.equal(true);
  });

  it('a revoked token loses its grant and its accessor', () => {
    const g = new TokenGrants(10_000, clock);
    g.sawRead('h', now);
    g.info('h', 'acc', true, now);
    g.forget('h');
    expect(g.allows('h', now)).to.equal(false);
    expect(g.tokenOfAccessor('acc')).to.equal(undefined);
  });
});
