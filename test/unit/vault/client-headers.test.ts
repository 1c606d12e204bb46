import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VaultClient } from '../../../src/vault/client.js';

describe('unit: VaultClient fixed headers (the auto-auth namespace)', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<string | undefined> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers['x-vault-namespace'] as string | undefined);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('withHeaders sends them on every request; the base client and another client made from it do not, unless given them with headersOnto', async () => {
    const base = new VaultClient({ address: url, tlsSkipVerify: false, numRetries: 0 });
    const other = new VaultClient({ address: url, tlsSkipVerify: false, numRetries: 0 });
    const namespaced = base.withHeaders({ 'x-vault-namespace': 'ns1/' });
    seen.length = 0;
    await namespaced.send({ path: 'auth/token/lookup-self' });
    await base.send({ path: 'auth/token/lookup-self' });
    await other.send({ path: 'auth/token/lookup-self' });
    await namespaced.headersOnto(other).send({ path: 'auth/token/lookup-self' });
    await base.headersOnto(other).send({ path: 'auth/token/lookup-self' });
    expect(seen).to.deep.equal(['ns1/', undefined, undefined, 'ns1/', undefined]);
    base.close();
    other.close();
  });
});
