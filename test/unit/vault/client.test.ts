import { expect } from 'chai';
import http from 'node:http';
import { VaultClient } from '../../../src/vault/client.js';
import { VaultResponseError } from '../../../src/errors.js';

/** A stand-in server answering the given statuses in turn (the last one repeats). */
async function scripted(statuses: number[]): Promise<{ url: string; hits: () => number; close: () => void }> {
  let n = 0;
  const server = http.createServer((_req, res) => {
    const status = statuses[Math.min(n, statuses.length - 1)]!;
    n++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status < 300 ? '{"data":{"ok":true}}\n' : '{"errors":["nope"]}\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits: () => n, close: () => server.close() };
}

function client(url: string, numRetries: number): VaultClient {
  return new VaultClient({ address: url, tlsSkipVerify: false, numRetries }, 5_000, 5);
}

describe('vault client: retries (vault { retry { num_retries } })', () => {
  it('retries 5xx and 412 until Vault answers', async () => {
    const s = await scripted([503, 500, 412, 200]);
    const c = client(s.url, 12);
    const reply = await c.request({ path: 'secret/data/x' });
    expect(reply.body?.data).to.deep.equal({ ok: true });
    expect(s.hits()).to.equal(4);
    c.close();
    s.close();
  });

  it('does not retry 501, 4xx, or when retries are off (-1 → 0)', async () => {
    for (const [statuses, retries, hits] of [[[501], 12, 1], [[403], 12, 1], [[400], 12, 1], [[503], 0, 1]] as const) {
      const s = await scripted([...statuses]);
      const c = client(s.url, retries);
      const err = await c.request({ path: 'x' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(VaultResponseError);
      expect((err as VaultResponseError).status).to.equal(statuses[0]);
      expect(s.hits()).to.equal(hits);
      c.close();
      s.close();
    }
  });

  it('gives up after num_retries and returns Vault\'s last answer', async () => {
    const s = await scripted([503]);
    const c = client(s.url, 3);
    const err = (await c.request({ path: 'x' }).catch((e: unknown) => e)) as VaultResponseError;
    expect(err.status).to.equal(503);
    expect(err.errors).to.deep.equal(['nope']);
    expect(s.hits()).to.equal(4);
    c.close();
    s.close();
  });

  it('auto-auth calls (retry: false) are not retried: auto-auth has its own backoff', async () => {
    const s = await scripted([503, 200]);
    const c = client(s.url, 12);
    const err = (await c.request({ path: 'auth/approle/login', method: 'POST', retry: false }).catch((e: unknown) => e)) as VaultResponseError;
    expect(err.status).to.equal(503);
    expect(s.hits()).to.equal(1);
    c.close();
    s.close();
  });
});
