import { expect } from 'chai';
import type { ListenerConfig, UseAutoAuthToken } from '../../../src/config/types.js';
import type { ProcessingRequest, ProcessingResponse } from '../../../src/extproc/envoy-types.js';
import { initialState, step, type StreamContext } from '../../../src/extproc/stream.js';
import { Inflight } from '../../../src/cache/inflight.js';
import { LeaseCache } from '../../../src/cache/lease-cache.js';

const LISTENER: ListenerConfig = { type: 'tcp', address: '127.0.0.1:8100', requireRequestHeader: false, enableQuit: false, role: 'default' };
const AUTO = 'hvs.auto-auth-token';

/** Envoy's request_headers message for a request, header values in raw_value as Envoy ≥1.32 sends them. */
function requestHeaders(method: string, path: string, headers: Record<string, string> = {}): ProcessingRequest {
  const all = { ':method': method, ':path': path, ':authority': 'vault', ':scheme': 'http', ...headers };
  return {
    request: 'request_headers',
    request_headers: { headers: { headers: Object.entries(all).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: true },
  };
}

/** `token: null` means the worker holds no auto-auth token yet. */
function ctx(mode: UseAutoAuthToken, token: string | null = AUTO): StreamContext {
  return { useAutoAuthToken: mode, autoAuthToken: () => token ?? undefined };
}

/** The header mutation of a continue reply, as plain strings. */
function mutation(reply: ProcessingResponse | undefined): { set: Record<string, string>; remove: string[] } {
  expect(reply).to.have.property('request_headers');
  const r = reply as { request_headers: { response?: { header_mutation?: { set_headers?: Array<{ header: { key: string; raw_value: Buffer; value?: string } }>; remove_headers?: string[] } } } };
  const m = r.request_headers.response?.header_mutation;
  const set: Record<string, string> = {};
  for (const h of m?.set_headers ?? []) {
    expect(h.header.value, 'only raw_value is set').to.equal(undefined);
    set[h.header.key] = h.header.raw_value.toString();
  }
  return { set, remove: m?.remove_headers ?? [] };
}

function decide(mode: UseAutoAuthToken, headers: Record<string, string>, token: string | null = AUTO, listener = LISTENER) {
  return step(initialState(listener), requestHeaders('GET', '/v1/secret/data/app', headers), ctx(mode, token));
}

describe('extproc: one stream, one request', () => {
  describe('use_auto_auth_token', () => {
    it('true: a request without a token gets the auto-auth token', () => {
      expect(mutation(decide(true, {}).reply)).to.deep.equal({ set: { 'x-vault-token': AUTO }, remove: [] });
    });

    it('true: a client X-Vault-Token is kept and nothing is added', () => {
      expect(mutation(decide(true, { 'x-vault-token': 'hvs.client' }).reply)).to.deep.equal({ set: {}, remove: [] });
    });

    it('true: Authorization: Bearer counts as a client token', () => {
      expect(mutation(decide(true, { authorization: 'Bearer hvs.client' }).reply)).to.deep.equal({ set: {}, remove: [] });
    });

    it('true: a non-Bearer Authorization header is not a token', () => {
      expect(mutation(decide(true, { authorization: 'Basic dXNlcjpwYXNz' }).reply).set).to.deep.equal({ 'x-vault-token': AUTO });
    });

    it('force: the client token is replaced', () => {
      expect(mutation(decide('force', { 'x-vault-token': 'hvs.client' }).reply)).to.deep.equal({ set: { 'x-vault-token': AUTO }, remove: [] });
    });

    it('force: a Bearer client token is removed and the auto-auth token set', () => {
      expect(mutation(decide('force', { authorization: 'Bearer hvs.client' }).reply)).to.deep.equal({ set: { 'x-vault-token': AUTO }, remove: ['authorization'] });
    });

    it('force without an auto-auth token yet: the client token does not go through', () => {
      expect(mutation(decide('force', { 'x-vault-token': 'hvs.client' }, null).reply)).to.deep.equal({ set: {}, remove: ['x-vault-token'] });
    });

    // OpenBao's token-less inline authentication: the request carries a login in headers, and
    // OpenBao refuses a token beside it (500 "cannot layer inline authentication with token authentication").
    const INLINE = { 'x-vault-inline-auth-path': 'auth/userpass/login/alice', 'x-vault-inline-auth-parameter-password': 'eyJrZXkiOiJwYXNzd29yZCJ9' };

    it('true: OpenBao inline authentication counts as the client\'s credentials, and no token is added', () => {
      expect(mutation(decide(true, INLINE).reply)).to.deep.equal({ set: {}, remove: [] });
      // Parameters without the path are not inline authentication (OpenBao ignores them).
      expect(mutation(decide(true, { 'x-vault-inline-auth-parameter-password': 'x' }).reply).set).to.deep.equal({ 'x-vault-token': AUTO });
    });

    it('force: the inline-auth headers are removed with the client\'s token, and the auto-auth token set', () => {
      expect(mutation(decide('force', INLINE).reply)).to.deep.equal({
        set: { 'x-vault-token': AUTO }, remove: ['x-vault-inline-auth-path', 'x-vault-inline-auth-parameter-password'],
      });
      // Without an auto-auth token yet, the client's login does not go through either.
      expect(mutation(decide('force', INLINE, null).reply).remove).to.include.members(['x-vault-inline-auth-path', 'x-vault-inline-auth-parameter-password']);
    });

    it('false: the client token passes and no auto-auth token is added', () => {
      expect(mutation(decide(false, { 'x-vault-token': 'hvs.client' }).reply)).to.deep.equal({ set: {}, remove: [] });
      expect(mutation(decide(false, {}).reply)).to.deep.equal({ set: {}, remove: [] });
    });

    it('asks for the response body only when it must read it (token lookups made with the auto-auth token)', () => {
      const plain = decide(true, {}).reply as { mode_override?: Record<string, string> };
      expect(plain.mode_override).to.equal(undefined);
      const lookup = step(initialState(LISTENER), requestHeaders('GET', '/v1/auth/token/lookup-self'), ctx(true)).reply as { mode_override?: Record<string, string> };
      expect(lookup.mode_override).to.deep.equal({ response_body_mode: 'BUFFERED' });
    });
  });

  describe('require_request_header', () => {
    const strict = { ...LISTENER, requireRequestHeader: true };

    it("answers 412 with Vault Proxy's body when X-Vault-Request is missing", () => {
      const { reply, state } = decide(true, {}, AUTO, strict);
      const ir = (reply as { immediate_response: { status: { code: number }; body: Buffer; headers: { set_headers: Array<{ header: { key: string; raw_value: Buffer } }> } } }).immediate_response;
      expect(ir.status.code).to.equal(412);
      expect(ir.body.toString()).to.equal('{"errors":["missing \\"X-Vault-Request\\" header"]}\n');
      expect(ir.headers.set_headers.map((h) => [h.header.key, h.header.raw_value.toString()])).to.deep.include(['content-type', 'application/json']);
      expect(state.phase).to.equal('done');
    });

    it('answers 412 when the header is present but not "true"', () => {
      expect(decide(true, { 'x-vault-request': 'yes' }, AUTO, strict).reply).to.have.property('immediate_response');
    });

    it('continues when X-Vault-Request: true is present', () => {
      expect(mutation(decide(true, { 'x-vault-request': 'true' }, AUTO, strict).reply).set).to.deep.equal({ 'x-vault-token': AUTO });
    });
  });

  describe('replies', () => {
    it('answers every message with exactly one reply of the matching kind', () => {
      let { state } = decide(true, {});
      const kinds = ['response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'] as const;
      for (const kind of kinds) {
        const msg = { request: kind, [kind]: {} } as ProcessingRequest;
        const next = step(state, msg, ctx(true));
        expect(Object.keys(next.reply ?? {})).to.deep.equal([kind]);
        state = next.state;
      }
    });

    it('asks the worker to check the auto-auth token when Vault refused a request that carried it', () => {
      const { state } = decide(true, {});
      const resp: ProcessingRequest = { request: 'response_headers', response_headers: { headers: { headers: [{ key: ':status', raw_value: Buffer.from('403') }] } } };
      expect(step(state, resp, ctx(true)).effects).to.deep.equal([{ type: 'proxied', status: 403, failed: false }, { type: 'token-suspect' }]);
      const { state: clientState } = decide(true, { 'x-vault-token': 'hvs.client' });
      expect(step(clientState, resp, ctx(true)).effects).to.deep.equal([{ type: 'proxied', status: 403, failed: false }]);
    });

    it('reads the old `value` field when an old Envoy sends no raw_value', () => {
      const msg: ProcessingRequest = {
        request: 'request_headers',
        request_headers: { headers: { headers: [{ key: ':method', value: 'GET' }, { key: ':path', value: '/v1/x' }, { key: 'x-vault-token', value: 'hvs.old' }] } },
      };
      expect(mutation(step(initialState(LISTENER), msg, ctx(true)).reply).set).to.deep.equal({});
    });

    it('does not answer in observability mode', () => {
      const msg = { ...requestHeaders('GET', '/v1/x'), observability_mode: true };
      expect(step(initialState(LISTENER), msg, ctx(true)).reply).to.equal(undefined);
    });
  });
});

describe('extproc: the auto-auth token never comes back to the client', () => {
  it('strips data.id/accessor and auth.client_token/accessor when they are the auto-auth token', () => {
    const { state } = step(initialState(LISTENER), requestHeaders('GET', '/v1/auth/token/lookup-self'), ctx(true));
    expect(state.sanitizeFor).to.equal(AUTO);
    const headersReply = step(state, { request: 'response_headers', response_headers: { headers: { headers: [{ key: ':status', raw_value: Buffer.from('200') }] } } }, ctx(true));
    expect(headersReply.reply).to.deep.equal({ response_headers: { response: { header_mutation: { remove_headers: ['content-length'] } } } });
    const body = Buffer.from(JSON.stringify({ data: { id: AUTO, accessor: 'acc', policies: ['app'] }, auth: null }));
    const r = step(headersReply.state, { request: 'response_body', response_body: { body, end_of_stream: true } }, ctx(true)).reply as { response_body: { response: { body_mutation: { body: Buffer } } } };
    expect(JSON.parse(r.response_body.response.body_mutation.body.toString())).to.deep.equal({ data: { policies: ['app'] }, auth: null });
  });

  it('empties auth.client_token/accessor of a renewal of the auto-auth token, as Vault Proxy does (the keys stay)', () => {
    const { state } = step(initialState(LISTENER), requestHeaders('PUT', '/v1/auth/token/renew-self'), ctx(true));
    const body = Buffer.from(JSON.stringify({ data: null, auth: { client_token: AUTO, accessor: 'acc', policies: ['app'] } }));
    const r = step(state, { request: 'response_body', response_body: { body, end_of_stream: true } }, ctx(true)).reply as { response_body: { response: { body_mutation: { body: Buffer } } } };
    expect(JSON.parse(r.response_body.response.body_mutation.body.toString())).to.deep.equal({ data: null, auth: { client_token: '', accessor: '', policies: ['app'] } });
  });

  it('leaves other bodies, and non-JSON bodies, alone', () => {
    const { state } = step(initialState(LISTENER), requestHeaders('POST', '/v1/ns1/auth/token/renew-self'), ctx(true));
    expect(state.sanitizeFor).to.equal(AUTO);
    for (const text of ['not json', JSON.stringify({ auth: { client_token: 'hvs.other' } })]) {
      expect(step(state, { request: 'response_body', response_body: { body: Buffer.from(text) } }, ctx(true)).reply).to.deep.equal({ response_body: {} });
    }
    expect(step(initialState(LISTENER), requestHeaders('GET', '/v1/secret/data/x'), ctx(true)).state.sanitizeFor).to.equal(undefined);
  });
});

describe('extproc: rules read the canonical request, not the raw path', () => {
  const immediate = (reply: ProcessingResponse | undefined) => (reply as { immediate_response?: { status: { code: number }; body: Buffer } }).immediate_response;

  it('cleans the answer of encoded token lookups and renewals (Vault decodes the path)', () => {
    for (const p of ['/v1/auth/token/%6Cookup-self', '/v1/auth/token/lookup-sel%66', '/v1/auth%2Ftoken%2Flookup-self', '/v1/auth/token/renew-sel%66', '/v1/auth/token/lookup']) {
      expect(step(initialState(LISTENER), requestHeaders(p.includes('renew') ? 'POST' : 'GET', p), ctx(true)).state.sanitizeFor, p).to.equal(AUTO);
    }
  });

  it('refuses to have Vault wrap a token lookup or renewal made with the auto-auth token', () => {
    for (const [h, p] of [['x-vault-wrap-ttl', '/v1/auth/token/lookup-self'], ['x-vault-wrap-ttl', '/v1/auth/token/renew-sel%66'], ['x-vault-wrap-format', '/v1/auth/token/lookup-self']]) {
      const out = step(initialState(LISTENER), requestHeaders('POST', p!, { [h!]: '60' }), ctx(true));
      expect(immediate(out.reply)?.status.code, `${h} ${p}`).to.equal(400);
      expect(JSON.parse(immediate(out.reply)!.body.toString()).errors[0]).to.include('response wrapping');
    }
    // With the client's own token, Vault's business.
    expect(immediate(step(initialState(LISTENER), requestHeaders('GET', '/v1/auth/token/lookup-self', { 'x-vault-wrap-ttl': '60', 'x-vault-token': 'hvs.c' }), ctx(true)).reply)).to.equal(undefined);
  });

  it('a lowercase `bearer` is no token to Vault: the auto-auth token is added (true) as Vault Proxy would', () => {
    expect(mutation(decide(true, { authorization: 'bearer hvs.client' }).reply).set).to.deep.equal({ 'x-vault-token': AUTO });
  });

  describe('local endpoints', () => {
    const withCache = (): StreamContext => ({ ...ctx(true), leaseCache: { cache: new LeaseCache(), inflight: new Inflight(), managed: () => false, namespaces: () => false, cacheLogins: true } });
    const clear = (headers: Record<string, string>, listener = LISTENER) => step(initialState(listener), { ...requestHeaders('POST', '/agent/v1/cache-clear', headers), request_headers: { ...requestHeaders('POST', '/agent/v1/cache-clear', headers).request_headers!, end_of_stream: false } }, withCache());

    it('cache-clear accepts only a JSON body (no cross-site form can clear the cache)', () => {
      expect(immediate(clear({ 'content-type': 'text/plain' }).reply)?.status.code).to.equal(415);
      expect(immediate(clear({ 'content-type': 'application/x-www-form-urlencoded' }).reply)?.status.code).to.equal(415);
      expect(immediate(clear({}).reply)?.status.code).to.equal(415);
      expect(clear({ 'content-type': 'application/json' }).state.local).to.equal('cache-clear');
    });

    it('cache-clear and quit obey require_request_header', () => {
      const strict = { ...LISTENER, requireRequestHeader: true, enableQuit: true };
      expect(immediate(clear({ 'content-type': 'application/json' }, strict).reply)?.status.code).to.equal(412);
      expect(clear({ 'content-type': 'application/json', 'x-vault-request': 'true' }, strict).state.local).to.equal('cache-clear');
      const quit = step(initialState(strict), requestHeaders('POST', '/agent/v1/quit'), ctx(true));
      expect(immediate(quit.reply)?.status.code).to.equal(412);
      expect(quit.effects).to.deep.equal([]);
    });

    it('a metrics_only listener serves the metrics and nothing else (404 as Vault Proxy)', () => {
      const metricsOnly = { ...LISTENER, role: 'metrics_only' as const };
      const other = step(initialState(metricsOnly), requestHeaders('GET', '/v1/secret/data/x'), ctx(true));
      expect(immediate(other.reply)?.status.code).to.equal(404);
      expect(immediate(other.reply)?.body.toString()).to.equal('404 page not found\n');
      const metrics = step(initialState(metricsOnly), requestHeaders('GET', '/agent/v1/metrics'), { ...ctx(true), vaultMetrics: async () => ({ status: 200, contentType: 'application/json', body: '{}' }) });
      expect(metrics.kind).to.equal('later');
    });
  });
});
