// The worker reads Vault paths that came from outside as DECODED names: a cached secret's canonical
// path (a client sent it percent-encoded; Go decoded it) and a template's path (consul-template sends
// it through Go's url.URL{Path}.EscapedPath()). Vault must receive a request whose path, decoded as
// Go decodes it, is exactly /v1/<that name>: a backslash, '#', '?', '%', a tab are ordinary bytes of
// a Vault path. WHATWG URL parsing (new URL) is not: it turns '\' into '/', resolves '..', cuts at
// '#', drops tabs — so the worker would read (and the static cache store under the first name) a
// DIFFERENT secret (the template path attack; e2e: test/e2e/adversarial/template-attacks.test.ts).
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VaultClient } from '../../../src/vault/client.js';
import { refetchSecret } from '../../../src/worker/static/refetch.js';
import type { StaticRegistry } from '../../../src/worker/static/registry.js';
import { TemplateVaultIo } from '../../../src/worker/templates/vault-io.js';
import { createLogger } from '../../../src/telemetry/logger.js';

/** A stand-in Vault recording each request's raw target (as the bytes arrived) and answering a KV v2 read. */
async function recorder(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const server = http.createServer((req, res) => {
    targets.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { data: { v: 'x' }, metadata: { version: 1 } }, lease_duration: 0, lease_id: '', renewable: false }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** What Go's net/http gives a handler as r.URL.Path for this request target (query cut at the first '?', then percent-decoded). */
function goPath(target: string): string {
  const q = target.indexOf('?');
  return decodeURIComponent(q < 0 ? target : target.slice(0, q));
}

/** Vault names that WHATWG URL parsing changes; each is one KV v2 secret's canonical path. */
const NAMES = [
  'secret/data/apps/x\\..\\..\\admin', // '\' → '/', then '..' resolved: secret/data/admin
  'secret/data/apps/a\\b',             // '\' → '/': apps/a/b
  'secret/data/apps/a#b',              // fragment cut: apps/a
  'secret/data/apps/a?version=1',      // a name with '?' (client sent %3F): read as apps/a at version 1
  'secret/data/apps/a%2Fb',            // a literal '%2F' (client sent %252F): Vault would decode it to apps/a/b
  'secret/data/apps/a\tb',             // tab dropped: apps/ab
];

describe('adversarial (unit): decoded Vault paths reach Vault as the same names', () => {
  const log = createLogger({ level: 'silent' } as Parameters<typeof createLogger>[0]);

  it('a cached secret\'s refetch (static cache) reads exactly its canonical path', async () => {
    const s = await recorder();
    const vault = new VaultClient({ address: s.url, tlsSkipVerify: false, numRetries: 0 }, 5_000, 5);
    const registry = { tokensFor: () => [{ hash: 'h', token: 'tok' }], dropToken: () => [], forget: () => undefined } as unknown as StaticRegistry;
    const got: Array<{ name: string; vaultRead: string }> = [];
    try {
      for (const name of NAMES) {
        s.targets.length = 0;
        await refetchSecret(vault, registry, name, log);
        got.push({ name, vaultRead: s.targets.length === 1 ? goPath(s.targets[0]!) : `(${s.targets.length} requests)` });
      }
    } finally {
      vault.close();
      await s.close();
    }
    expect(got).to.deep.equal(NAMES.map((name) => ({ name, vaultRead: `/v1/${name}` })));
  });

  it('a template\'s secret "secret/data/apps/x\\..\\..\\admin" reads that name (Vault Agent: /v1/secret/data/apps/x%5C..%5C..%5Cadmin), not secret/data/admin', async () => {
    const s = await recorder();
    const vault = new VaultClient({ address: s.url, tlsSkipVerify: false, numRetries: 0 }, 5_000, 5);
    const io = new TemplateVaultIo({ vault, token: () => 'tok', maxConnections: 4, staticCache: false, send: () => undefined });
    try {
      await io.fetch('GET', 'secret/data/apps/x\\..\\..\\admin', undefined);
      await io.fetch('GET', 'secret/data/apps/a\\b', undefined);
    } finally {
      io.stop();
      vault.close();
      await s.close();
    }
    expect(s.targets.map(goPath)).to.deep.equal(['/v1/secret/data/apps/x\\..\\..\\admin', '/v1/secret/data/apps/a\\b']);
  });
});
