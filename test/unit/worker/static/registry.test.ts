import { expect } from 'chai';
import { hashToken } from '../../../../src/cache/token-hash.js';
import { StaticRegistry } from '../../../../src/worker/static/registry.js';

const [A, B, C] = ['hvs.A', 'hvs.B', 'hvs.C'];
const h = hashToken;

describe('worker: static registry — cached paths and the tokens that read them', () => {
  it('lists the tokens of a path in the order they proved access, each once', () => {
    const r = new StaticRegistry();
    r.add('secret/data/x', B);
    r.add('secret/data/x', A);
    r.add('secret/data/x', B);
    expect(r.tokensFor('secret/data/x')).to.deep.equal([{ hash: h(B), token: B }, { hash: h(A), token: A }]);
    expect(r.tokensFor('secret/data/other')).to.deep.equal([]);
    expect(r.has('secret/data/x')).to.equal(true);
    expect(r.paths()).to.deep.equal(['secret/data/x']);
  });

  it('gives each token with its paths (for the capability refresh)', () => {
    const r = new StaticRegistry();
    r.add('p1', A);
    r.add('p2', A);
    r.add('p2', B);
    r.add('p3', B);
    expect(r.tokens()).to.deep.equal([
      { hash: h(A), token: A, paths: ['p1', 'p2'] },
      { hash: h(B), token: B, paths: ['p2', 'p3'] },
    ]);
  });

  it('a forgotten path leaves every token; a token without paths leaves', () => {
    const r = new StaticRegistry();
    r.add('p1', A);
    r.add('p1', B);
    r.add('p2', B);
    r.forget('p1');
    r.forget('p1');
    expect(r.has('p1')).to.equal(false);
    expect(r.tokens()).to.deep.equal([{ hash: h(B), token: B, paths: ['p2'] }]);
    r.forget('p2');
    expect(r.tokens()).to.deep.equal([]);
    expect(r.paths()).to.deep.equal([]);
  });

  it('a token loses some paths, or all of them; paths nobody reads any more leave', () => {
    const r = new StaticRegistry();
    r.add('p1', A);
    r.add('p2', A);
    r.add('p3', A);
    r.add('p2', B);
    expect(r.dropToken(h(A), ['p1', 'p2'])).to.deep.equal(['p1', 'p2']);
    expect(r.has('p1')).to.equal(false);
    expect(r.tokensFor('p2')).to.deep.equal([{ hash: h(B), token: B }]);
    expect(r.tokens()).to.deep.equal([
      { hash: h(A), token: A, paths: ['p3'] },
      { hash: h(B), token: B, paths: ['p2'] },
    ]);
    r.add('p4', A);
    expect(r.dropToken(h(A))).to.deep.equal(['p3', 'p4']);
    expect(r.paths()).to.deep.equal(['p2']);
    expect(r.tokens().map((t) => t.token)).to.deep.equal([B]);
    expect(r.dropToken(h(A))).to.deep.equal([]);
    expect(r.dropToken(h(C), ['p2'])).to.deep.equal([]);
    expect(r.tokensFor('p2')).to.deep.equal([{ hash: h(B), token: B }]);
  });

  it('a token that proves access again after losing it is back', () => {
    const r = new StaticRegistry();
    r.add('p1', A);
    r.dropToken(h(A));
    r.add('p1', A);
    expect(r.tokens()).to.deep.equal([{ hash: h(A), token: A, paths: ['p1'] }]);
  });
});
