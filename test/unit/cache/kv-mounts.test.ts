// Vaults before 1.16 (and OpenBao) do not name the mount type in their answers: the static cache
// learns KV mounts from sys/internal/ui/mounts, and caches nothing on a mount until it knows it.
import { expect } from 'chai';
import { Inflight } from '../../../src/cache/inflight.js';
import { TokenGrants } from '../../../src/cache/token-grants.js';
import { KvMounts, mountPrefixOf } from '../../../src/cache/kv-mounts.js';
import { StaticCache } from '../../../src/cache/static-cache.js';
import { MemoryStore } from '../../../src/cache/store.js';
import type { ListenerConfig } from '../../../src/config/types.js';
import type { ProcessingRequest } from '../../../src/extproc/envoy-types.js';
import { initialState, step, type StreamContext, type StreamEffect } from '../../../src/extproc/stream.js';

describe('KV mounts learned from Vault', () => {
  it('finds the mount of a canonical path on segment boundaries, namespaces included', () => {
    expect(mountPrefixOf('secret/data/app/db', 'secret/')).to.equal('secret/');
    expect(mountPrefixOf('ns1/team/kv/data/x', 'team/kv/')).to.equal('ns1/team/kv/');
    expect(mountPrefixOf('kv1/app', 'kv1')).to.equal('kv1/');
    expect(mountPrefixOf('mysecret/data/x', 'secret/')).to.equal(undefined);
    expect(mountPrefixOf('secret/data/x', '/')).to.equal(undefined);
  });

  it('answers with the longest known prefix, forgets after 5 minutes, and asks once per 30 s', () => {
    let now = 1_000_000;
    const m = new KvMounts(() => now);
    expect(m.kindOf('secret/data/a')).to.equal(undefined);
    expect(m.shouldAsk('secret/data/a')).to.equal(true);
    expect(m.shouldAsk('secret/data/a')).to.equal(false);
    m.learn('secret/', 'kv');
    m.learn('secret/sub/', 'other');
    expect(m.kindOf('secret/data/a')).to.equal('kv');
    expect(m.kindOf('secret/sub/x')).to.equal('other');
    expect(m.kindOf('secretive/x')).to.equal(undefined);
    expect(m.shouldAsk('secret/data/a'), 'learning a mount lets its paths be asked again').to.equal(true);
    now += 5 * 60_000 + 1;
    expect(m.kindOf('secret/data/a')).to.equal(undefined);
  });
});

const LISTENER: ListenerConfig = { type: 'tcp', address: '127.0.0.1:8100', requireRequestHeader: false, enableQuit: false, role: 'default' };

function headers(kind: 'request_headers' | 'response_headers', all: Record<string, string>, endOfStream: boolean): ProcessingRequest {
  return { request: kind, [kind]: { headers: { headers: Object.entries(all).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: endOfStream } } as ProcessingRequest;
}

/** One KV read through a stream: request headers, Vault's 200 JSON answer, its body. */
function read(ctx: StreamContext, envelope: Record<string, unknown>): StreamEffect[] {
  let s = initialState(LISTENER);
  const effects: StreamEffect[] = [];
  for (const msg of [
    headers('request_headers', { ':method': 'GET', ':path': '/v1/secret/data/app', ':authority': 'vault', ':scheme': 'http', 'x-vault-token': 'hvs.client' }, true),
    headers('response_headers', { ':status': '200', 'content-type': 'application/json', date: new Date().toUTCString() }, false),
    { request: 'response_body', response_body: { body: Buffer.from(JSON.stringify(envelope)), end_of_stream: true } } as ProcessingRequest,
  ]) {
    const out = step(s, msg, ctx);
    s = out.state;
    effects.push(...out.effects);
  }
  return effects;
}

describe('a KV read whose answer does not name the mount type', () => {
  const body = { request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data: { data: { pw: 'x' }, metadata: { version: 3 } }, wrap_info: null, warnings: null, auth: null };
  function ctx(mounts: KvMounts): StreamContext {
    return {
      useAutoAuthToken: false, autoAuthToken: () => undefined,
      staticCache: { cache: new StaticCache(new MemoryStore(1 << 20), () => undefined), grants: new TokenGrants(60_000), inflight: new Inflight(), mounts, namespaces: () => false },
    };
  }
  const types = (effects: StreamEffect[]): string[] => effects.map((e) => e.type).filter((t) => t !== 'proxied' && t !== 'cache-miss' && t !== 'inflight-begin' && t !== 'inflight-end');

  it('is not recorded while the mount is unknown, and the worker is asked (Vault 1.15 and OpenBao answers)', () => {
    const mounts = new KvMounts();
    expect(types(read(ctx(mounts), body))).to.deep.equal(['mount-unknown']);
    expect(types(read(ctx(mounts), { ...body, mount_type: '' }))).to.deep.equal(['mount-unknown']);
  });

  it('is recorded once the mount is known to be KV, never when it is known to be something else', () => {
    const kv = new KvMounts();
    kv.learn('secret/', 'kv', 2);
    const recorded = read(ctx(kv), body).find((e) => e.type === 'static-record');
    expect(recorded).to.include({ type: 'static-record', kvVersion: 3 });
    const other = new KvMounts();
    other.learn('secret/', 'other');
    expect(types(read(ctx(other), body))).to.deep.equal([]);
  });

  it('a named mount type wins over the learned table (the version is asked again)', () => {
    const other = new KvMounts();
    other.learn('secret/', 'other');
    expect(types(read(ctx(other), { ...body, mount_type: 'kv' }))).to.deep.equal(['mount-unknown']);
    const kv = new KvMounts();
    kv.learn('secret/', 'kv', 2);
    expect(types(read(ctx(kv), { ...body, mount_type: 'database' }))).to.deep.equal([]);
  });
});
