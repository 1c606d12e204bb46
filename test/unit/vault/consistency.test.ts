import { expect } from 'chai';
import { mergeReplicationStates, parseReplicationState, ReplicationStates } from '../../../src/vault/consistency.js';

/** A state header as Vault Enterprise writes it (the HMAC is never checked here). */
function state(local: number, replicated: number, cluster = 'c1'): string {
  return Buffer.from(`v1:${cluster}:${local}:${replicated}:abcd`).toString('base64');
}

describe('unit: X-Vault-Index replication states (Vault Proxy keeps the newest one or two)', () => {
  it('reads the cluster and both indexes; anything else is not a state', () => {
    expect(parseReplicationState(state(7, 3))).to.deep.equal({ clusterId: 'c1', localIndex: 7n, replicatedIndex: 3n });
    for (const bad of ['', 'not base64!', Buffer.from('v2:c1:1:1:ab').toString('base64'), Buffer.from('v1::1:1:ab').toString('base64'),
      Buffer.from('v1:c1:x:1:ab').toString('base64'), Buffer.from('v1:c1:1:1:zz').toString('base64'), Buffer.from('v1:c1:1:ab').toString('base64')]) {
      expect(parseReplicationState(bad), bad).to.equal(undefined);
    }
  });

  it('a newer state replaces an older one, an older one is dropped, identical ones are kept once', () => {
    expect(mergeReplicationStates([], state(1, 1))).to.deep.equal([state(1, 1)]);
    expect(mergeReplicationStates([state(1, 1)], state(2, 1))).to.deep.equal([state(2, 1)]);
    expect(mergeReplicationStates([state(5, 5)], state(2, 1))).to.deep.equal([state(5, 5)]);
    expect(mergeReplicationStates([state(5, 5)], state(5, 5))).to.deep.equal([state(5, 5)]);
  });

  it('two states neither newer than the other are both required (the HMAC forbids merging them into one)', () => {
    expect(mergeReplicationStates([state(5, 1)], state(1, 5))).to.deep.equal([state(5, 1), state(1, 5)]);
    // A third that is newer than both leaves only itself.
    expect(mergeReplicationStates([state(5, 1), state(1, 5)], state(6, 6))).to.deep.equal([state(6, 6)]);
  });

  it('another cluster or a malformed kept state: only the new one is kept', () => {
    expect(mergeReplicationStates([state(9, 9, 'other')], state(1, 1))).to.deep.equal([state(1, 1)]);
    expect(mergeReplicationStates(['junk'], state(1, 1))).to.deep.equal([state(1, 1)]);
  });

  it('the process-wide holder ignores an empty header', () => {
    const s = new ReplicationStates();
    s.record('');
    expect(s.current).to.deep.equal([]);
    s.record(state(1, 0));
    s.record(state(2, 0));
    expect(s.current).to.deep.equal([state(2, 0)]);
  });
});
