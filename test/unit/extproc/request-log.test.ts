import { expect } from 'chai';
import { RequestLog, safePath } from '../../../src/extproc/request-log.js';
import { initialState } from '../../../src/extproc/stream-types.js';
import type { ProcessingRequest } from '../../../src/extproc/envoy-types.js';
import type { ListenerConfig } from '../../../src/config/types.js';

function headers(pairs: Array<[string, string]>): ProcessingRequest {
  return { request: 'request_headers', request_headers: { headers: { headers: pairs.map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) } } } as ProcessingRequest;
}

const TOKEN = 'hvs.CAESIJ3x2ZsomethingLongEnough0123456789';
const state = initialState({} as ListenerConfig);

describe('the per-request log line (request-log)', () => {
  it('blanks token-shaped path segments and the request\'s own token, keeps ordinary segments', () => {
    expect(safePath(`/v1/auth/token/lookup/${TOKEN}`, undefined)).to.equal('/v1/auth/token/lookup/[token]');
    expect(safePath('/v1/auth/token/lookup/s.AbCdEfGh12345678', undefined)).to.equal('/v1/auth/token/lookup/[token]');
    expect(safePath('/v1/secret/data/my-token-abc', 'my-token-abc')).to.equal('/v1/secret/data/[token]');
    expect(safePath('/v1/secret/data/app.config/one', undefined)).to.equal('/v1/secret/data/app.config/one');
  });

  it('takes a UUID x-request-id; anything else (a token, free text) gets an id of ours', () => {
    const uuid = '0b6f4a1e-8c1d-4b7e-9a61-2f4c1f0d9e7a';
    const a = new RequestLog();
    a.message(headers([[':method', 'GET'], [':path', '/v1/secret/data/x?version=1'], ['x-request-id', uuid], ['x-vault-token', TOKEN]]));
    expect(a.line(state, 0.0123)).to.deep.equal({ request_id: uuid, method: 'GET', path: '/v1/secret/data/x', decision: 'forwarded', duration_ms: 12.3 });
    const b = new RequestLog();
    b.message(headers([[':method', 'GET'], [':path', '/v1/sys/health'], ['x-request-id', TOKEN], ['x-vault-token', TOKEN]]));
    const line = b.line(state, 0);
    expect(line.request_id).to.match(/^[0-9a-f-]{36}$/);
    expect(line.request_id_generated).to.equal(true);
    expect(JSON.stringify(line)).to.not.include(TOKEN);
  });

  it('names a local answer by its details, a hit by its cache, a forwarded one by the token it carried', () => {
    const hit = new RequestLog();
    hit.effect({ type: 'cache-hit', cache: 'lease' });
    hit.reply({ immediate_response: { status: { code: 200 }, details: 'vault_extproc_cache_hit' } });
    expect(hit.line(state, 0)).to.include({ decision: 'cache-hit-lease', status: 200 });
    const refused = new RequestLog();
    refused.reply({ immediate_response: { status: { code: 412 }, details: 'vault_extproc_missing_request_header' } });
    expect(refused.line(state, 0)).to.include({ decision: 'refused-missing-request-header', status: 412 });
    const forwarded = new RequestLog();
    forwarded.effect({ type: 'proxied', status: 502, failed: true });
    expect(forwarded.line({ ...state, injectedAutoAuth: true }, 0)).to.include({ decision: 'forwarded-auto-auth-token', status: 502, vault_unreachable: true });
  });
});
