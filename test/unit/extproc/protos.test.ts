import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { cacheHit, vaultError, type RequestDecision } from '../../../src/extproc/decisions.js';
import type { ProcessingResponse } from '../../../src/extproc/envoy-types.js';
import { continueReply, requestBodyReply, requestHeadersReply, responseBodyReply, responseHeadersReply } from '../../../src/extproc/messages.js';
import { envoyProtoDirs, externalProcessorService } from '../../../src/extproc/protos.js';

type Respond = Extract<RequestDecision, { kind: 'respond' }>;

/** proto-loader's own serializer (fromObject, then encode), from a package definition of its own. */
function protoLoaderSerializer(): (reply: ProcessingResponse) => Buffer {
  const def = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: envoyProtoDirs(),
  });
  const service = def['envoy.service.ext_proc.v3.ExternalProcessor'] as protoLoader.ServiceDefinition;
  return service['Process']!.responseSerialize as (reply: ProcessingResponse) => Buffer;
}

const CONTINUE: Extract<RequestDecision, { kind: 'continue' }> = {
  kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: undefined,
};

/** Every kind of reply the phases send, with the fields each can carry. */
function everyReply(): Array<[string, ProcessingResponse]> {
  const hit = cacheHit({
    status: 200, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']],
    body: Buffer.from('{"auth":{"client_token":"hvs.x"}}\n'), storedAtMs: Date.now() - 5000,
  }, Date.now(), 'ns1/') as Respond;
  const injected = { ...CONTINUE, setHeaders: { 'x-vault-token': 'hvs.auto', 'x-vault-namespace': 'ns1/' }, removeHeaders: ['authorization'], injectedAutoAuth: true };
  const out: Array<[string, ProcessingResponse]> = [
    ['continue, no mutation', requestHeadersReply(CONTINUE)],
    ['token injected, header removed', requestHeadersReply(injected)],
    ['appended index lines', requestHeadersReply({ ...injected, appendHeaders: [['x-vault-index', 'a'], ['x-vault-index', 'b']] })],
    ['lease candidate: body if small, answer if small', requestHeadersReply(injected, { requestBody: 'if-small', responseBody: true })],
    ['revocation body whole, answer sanitized whole', requestHeadersReply({ ...injected, sanitizeResponse: true }, { requestBody: true })],
    ['cache hit from the headers', requestHeadersReply(hit)],
    ['cache hit from the body', requestBodyReply(hit)],
    ['an error answer (string body)', requestHeadersReply(vaultError(412, 'missing "X-Vault-Request" header', 'vault_extproc_missing_request_header'))],
    ['an empty local answer', requestHeadersReply({ kind: 'respond', status: 200, headers: {}, body: '', details: 'vault_extproc_local' })],
    ['request body continue', requestBodyReply(undefined)],
    ['response headers: miss, body may change', responseHeadersReply(true, true)],
    ['response headers: unchanged', responseHeadersReply(false, false)],
    ['response body rewritten', responseBodyReply(Buffer.from('{"data":{}}'))],
    ['response body unchanged', responseBodyReply(undefined)],
  ];
  for (const kind of ['request_headers', 'response_headers', 'request_body', 'response_body', 'request_trailers', 'response_trailers'] as const) {
    out.push([`continue ${kind}`, continueReply(kind)]);
  }
  // Every processing mode name, in every mode field.
  for (const header of ['DEFAULT', 'SEND', 'SKIP'] as const) {
    for (const body of ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL'] as const) {
      out.push([`modes ${header}/${body}`, {
        request_headers: {},
        mode_override: {
          request_header_mode: header, response_header_mode: header, request_trailer_mode: header, response_trailer_mode: header,
          request_body_mode: body, response_body_mode: body,
        },
      }]);
    }
  }
  return out;
}

describe('extproc protos: the reply serializer', () => {
  it('writes the same bytes as proto-loader\'s fromObject-then-encode for every kind of reply', () => {
    const ours = externalProcessorService()['Process']!.responseSerialize as (reply: ProcessingResponse) => Buffer;
    const theirs = protoLoaderSerializer();
    for (const [name, reply] of everyReply()) {
      expect(Buffer.from(ours(reply)).toString('hex'), name).to.equal(Buffer.from(theirs(reply)).toString('hex'));
    }
  });

  it('writes the processing modes Envoy reads (decoded back: the names we sent)', () => {
    const service = externalProcessorService()['Process']!;
    const ours = service.responseSerialize as (reply: ProcessingResponse) => Buffer;
    const decoded = service.responseDeserialize(ours(requestHeadersReply(CONTINUE, { requestBody: 'if-small', responseBody: true }))) as { mode_override?: unknown };
    expect(decoded.mode_override).to.deep.equal({ request_body_mode: 'BUFFERED_PARTIAL', response_body_mode: 'BUFFERED_PARTIAL' });
  });
});
