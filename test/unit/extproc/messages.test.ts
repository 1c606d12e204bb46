import { expect } from 'chai';
import type { RequestDecision } from '../../../src/extproc/decisions.js';
import { requestHeadersReply } from '../../../src/extproc/messages.js';

const CONTINUE: Extract<RequestDecision, { kind: 'continue' }> = {
  kind: 'continue', setHeaders: {}, removeHeaders: [], injectedAutoAuth: false, sanitizeResponse: false, effectiveToken: undefined,
};

function modes(decision: RequestDecision, bodies: Parameters<typeof requestHeadersReply>[1]): unknown {
  return (requestHeadersReply(decision, bodies) as { mode_override?: unknown }).mode_override;
}

describe('extproc messages: which bodies Envoy hands over, and how whole', () => {
  it('no body asked: no mode override (one round trip)', () => {
    expect(modes(CONTINUE, {})).to.equal(undefined);
  });

  it('an answer to record comes whole only if it fits Envoy\'s buffer (BUFFERED_PARTIAL): a larger one passes unrecorded', () => {
    expect(modes(CONTINUE, { responseBody: true })).to.deep.equal({ response_body_mode: 'BUFFERED_PARTIAL' });
  });

  it('an answer cleaned of the auto-auth token always comes whole (BUFFERED: over the buffer Envoy fails it closed)', () => {
    expect(modes({ ...CONTINUE, sanitizeResponse: true }, { responseBody: true })).to.deep.equal({ response_body_mode: 'BUFFERED' });
  });

  it('a request body: whole for revocations and cache-clear (true), first part of a large one for keys (\'if-small\')', () => {
    expect(modes(CONTINUE, { requestBody: true })).to.deep.equal({ request_body_mode: 'BUFFERED' });
    expect(modes(CONTINUE, { requestBody: 'if-small', responseBody: true })).to.deep.equal({ request_body_mode: 'BUFFERED_PARTIAL', response_body_mode: 'BUFFERED_PARTIAL' });
  });
});
