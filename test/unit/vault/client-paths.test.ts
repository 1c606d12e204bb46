import { expect } from 'chai';
import http from 'node:http';
import { VaultClient } from '../../../src/vault/client.js';
import { parseVaultRequest } from '../../../src/vault/request.js';

// A decoded Vault path (a cached key, a template's path) must reach Vault as exactly that path: the
// worker once sent it through URL resolution, where `\` is `/` and `..` climbs, so a secret named
// `x\..\..\admin` was read as secret/data/admin and cached under the first name.

async function recorder(): Promise<{ url: string; targets: string[]; close: () => void }> {
  const targets: string[] = [];
  const server = http.createServer((req, res) => {
    targets.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":{}}\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, targets, close: () => server.close() };
}

const DECODED = [
  'secret/data/apps/x\\..\\..\\admin',
  'secret/data/apps/../admin',
  'secret/data/a%2Fb',
  'secret/data/a%2e%2e/b',
  'secret/data/a?b',
  'secret/data/a#b',
  'secret/data/a b\tc',
  'secret/data/ünï/€',
  'secret/data/a+b;c=d@e:f,g$h&i~j',
];

describe('vault client: a decoded path reaches Vault as exactly that path', () => {
  it('each path, sent with decodedPath, is the same path once Vault decodes the request target', async () => {
    const s = await recorder();
    const c = new VaultClient({ address: s.url, tlsSkipVerify: false, numRetries: 0 }, 5_000, 5);
    try {
      for (const path of DECODED) await c.raw({ path, decodedPath: true });
      await c.raw({ path: 'secret/data/v', decodedPath: true, query: 'version=2' });
    } finally {
      c.close();
      s.close();
    }
    expect(s.targets).to.have.length(DECODED.length + 1);
    DECODED.forEach((path, i) => {
      const seen = parseVaultRequest(new Map([[':method', ['GET']], [':path', [s.targets[i]!]]]));
      expect(seen.path, `${JSON.stringify(path)} went as ${s.targets[i]}`).to.equal(`/v1/${path}`);
    });
    expect(s.targets[0]).to.equal('/v1/secret/data/apps/x%5C..%5C..%5Cadmin');
    expect(s.targets[DECODED.length]).to.equal('/v1/secret/data/v?version=2');
  });

  it('a path with a query (the worker\'s own calls) keeps it', async () => {
    const s = await recorder();
    const c = new VaultClient({ address: s.url, tlsSkipVerify: false, numRetries: 0 }, 5_000, 5);
    try {
      await c.raw({ path: 'sys/health?standbyok=true&perfstandbyok=true' });
      await c.raw({ path: 'auth/ldap/login/a%2Fb' });
    } finally {
      c.close();
      s.close();
    }
    expect(s.targets).to.deep.equal(['/v1/sys/health?standbyok=true&perfstandbyok=true', '/v1/auth/ldap/login/a%2Fb']);
  });
});
