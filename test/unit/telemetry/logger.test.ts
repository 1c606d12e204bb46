import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/telemetry/logger.js';

function capture(): { stream: Writable; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, lines: () => chunks.join('') };
}

describe('telemetry: logger redaction', () => {
  it('censors tokens, secret ids, bodies and auth blocks wherever they are logged', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream as never, level: 'debug' }).child({ component: 'test' });
    log.info({ token: 'hvs.TOPSECRET1' }, 'a');
    log.info({ auth: { client_token: 'hvs.TOPSECRET2' } }, 'b');
    log.info({ req: { headers: { 'x-vault-token': 'hvs.TOPSECRET3', authorization: 'Bearer hvs.TOPSECRET4' } } }, 'c');
    log.info({ secret_id: 'TOPSECRET5', body: '{"password":"TOPSECRET6"}', data: { password: 'TOPSECRET7' } }, 'd');
    log.info({ reply: { wrap_info: { token: 'hvs.TOPSECRET8' } } }, 'e');
    const text = out.lines();
    expect(text).not.to.match(/TOPSECRET/);
    expect(text.match(/\[redacted\]/g)?.length).to.be.at.least(8);
    expect(text.split('\n').filter(Boolean)).to.have.length(5);
  });
});
