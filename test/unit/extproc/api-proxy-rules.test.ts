import { expect } from 'chai';
import type { ListenerConfig } from '../../../src/config/types.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../src/extproc/envoy-types.js';
import { initialState, step, type StreamContext } from '../../../src/extproc/stream.js';
import type { ApiProxyRules } from '../../../src/extproc/api-proxy-rules.js';
import { Inflight } from '../../../src/cache/inflight.js';
import { KvMounts } from '../../../src/cache/kv-mounts.js';
import { StaticCache } from '../../../src/cache/static-cache.js';
import { MemoryStore } from '../../../src/cache/store.js';
import { TokenGrants } from '../../../src/cache/token-grants.js';

const LISTENER: ListenerConfig = { type: 'tcp', address: '127.0.0.1:8100', requireRequestHeader: false, enableQuit: false, role: 'default' };

function requestHeaders(method: string, path: string, headers: Record<string, string> = {}): ProcessingRequest {
  const all = { ':method': method, ':path': path, ':authority': 'vault', ':scheme': 'http', ...headers };
  return { request: 'request_headers', request_headers: { headers: { headers: Object.entries(all).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: true } };
}

function responseHeaders(status: number, headers: Record<string, string> = {}): ProcessingRequest {
  const all = { ':status': String(status), 'content-type': 'application/json', ...headers };
  return { request: 'response_headers', response_headers: { headers: { headers: Object.entries(all).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: true } };
}

/** Every header line the reply sets, in order, with its append flag. */
function lines(reply: ProcessingResponse | undefined): Array<[string, string, boolean]> {
  const r = reply as { request_headers: { response?: { header_mutation?: { set_headers?: Array<{ header: { key: string; raw_value: Buffer }; append?: { value: boolean } }> } } } };
  return (r.request_headers.response?.header_mutation?.set_headers ?? []).map((h) => [h.header.key, h.header.raw_value.toString(), h.append?.value === true]);
}

/** A context with the static cache on; `namespaces` says whether the Vault has them. */
function ctx(apiProxy: ApiProxyRules | undefined, namespaces: boolean | undefined): StreamContext {
  const mounts = new KvMounts();
  mounts.learn('secret/', 'kv', 2);
  mounts.learn('ns1/secret/', 'kv', 2);
  mounts.learn('ns1/ns2/secret/', 'kv', 2);
  return {
    useAutoAuthToken: false, autoAuthToken: () => undefined,
    staticCache: { cache: new StaticCache(new MemoryStore(1 << 20)), grants: new TokenGrants(60_000), inflight: new Inflight(), mounts, namespaces: () => namespaces },
    ...(apiProxy ? { apiProxy } : {}),
  };
}

function state(n: number): string {
  return Buffer.from(`v1:c1:${n}:0:ab`).toString('base64');
}

describe('unit: api_proxy rules on the request Vault receives', () => {
  describe('prepend_configured_namespace', () => {
    const rules: ApiProxyRules = { prependNamespace: 'ns1/' };

    it('puts the configured namespace in front of the client\'s (ns1 + ns2 = ns1/ns2/), or alone when the client sends none', () => {
      for (const [client, sent] of [[undefined, 'ns1/'], ['ns2', 'ns1/ns2/'], ['/ns2/', 'ns1/ns2/'], ['', 'ns1/']] as const) {
        const s = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't', ...(client !== undefined ? { 'x-vault-namespace': client } : {}) }), ctx(rules, true));
        expect(lines(s.reply).filter(([k]) => k === 'x-vault-namespace'), String(client)).to.deep.equal([['x-vault-namespace', sent, false]]);
      }
    });

    it('the static key is the namespace Vault sees: ns1/ns2/secret/… on a Vault with namespaces, the bare path on Vault Community', () => {
      const ent = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't', 'x-vault-namespace': 'ns2' }), ctx(rules, true));
      expect(ent.state.static?.key).to.deep.equal({ path: 'ns1/ns2/secret/data/app', version: 0, header: 'ns1/ns2/' });
      const ce = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't', 'x-vault-namespace': 'ns2' }), ctx(rules, false));
      expect(ce.state.static?.key).to.deep.equal({ path: 'secret/data/app', version: 0, header: '' });
      // Until the worker knows which Vault it is, a namespaced request is not cached at all.
      const unknown = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't' }), ctx(rules, undefined));
      expect(unknown.state.static).to.equal(undefined);
    });

    it('without prepend_configured_namespace the client\'s header goes as it came (Vault Proxy replaces its headers with the client\'s)', () => {
      const s = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't', 'x-vault-namespace': 'ns2' }), ctx(undefined, true));
      expect(lines(s.reply).filter(([k]) => k === 'x-vault-namespace')).to.deep.equal([]);
      expect(s.state.static?.key.path).to.equal('ns2/secret/data/app');
    });
  });

  describe('enforce_consistency = "always"', () => {
    const withStates = (whenInconsistent: 'fail' | 'retry' | 'forward', states: string[]): ApiProxyRules => ({ consistency: { whenInconsistent, states: () => states } });

    it('adds every required state as its own X-Vault-Index line; forward also asks for the active node', () => {
      const fail = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't' }), ctx(withStates('fail', [state(5), state(6)]), false));
      expect(lines(fail.reply).filter(([k]) => k.startsWith('x-vault-i'))).to.deep.equal([['x-vault-index', state(5), true], ['x-vault-index', state(6), true]]);
      expect(fail.state.managesIndex).to.equal(true);
      const fwd = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't' }), ctx(withStates('forward', [state(5)]), false));
      expect(lines(fwd.reply).filter(([k]) => k.startsWith('x-vault-i'))).to.deep.equal([['x-vault-inconsistent', 'forward-active-node', false], ['x-vault-index', state(5), true]]);
    });

    it('no state seen yet: nothing added, but the answer\'s index is remembered', () => {
      const s = step(initialState(LISTENER), requestHeaders('POST', '/v1/secret/data/app', { 'x-vault-token': 't' }), ctx(withStates('forward', []), false));
      expect(lines(s.reply).filter(([k]) => k.startsWith('x-vault-i'))).to.deep.equal([]);
      const answer = step(s.state, responseHeaders(200, { 'x-vault-index': state(9) }), ctx(withStates('forward', []), false));
      expect(answer.effects).to.deep.include({ type: 'index-state', value: state(9) });
    });

    it('a request with its own X-Vault-Index, X-Vault-Inconsistent or X-Vault-Forward is left alone, its answer\'s index not taken', () => {
      for (const own of [{ 'x-vault-index': state(1) }, { 'x-vault-inconsistent': 'forward-active-node' }, { 'x-vault-forward': 'active-node' }] as Array<Record<string, string>>) {
        const s = step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/app', { 'x-vault-token': 't', ...own }), ctx(withStates('fail', [state(5)]), false));
        expect(lines(s.reply).filter(([k]) => k.startsWith('x-vault-i') || k === 'x-vault-forward'), JSON.stringify(own)).to.deep.equal([]);
        expect(s.state.managesIndex).to.equal(undefined);
        // ... and such a request is never answered from or recorded in the static cache.
        expect(s.state.static).to.equal(undefined);
        const answer = step(s.state, responseHeaders(200, { 'x-vault-index': state(9) }), ctx(withStates('fail', [state(5)]), false));
        expect(answer.effects.filter((e) => e.type === 'index-state')).to.deep.equal([]);
      }
    });
  });
});
