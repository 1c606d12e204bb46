import { expect } from 'chai';
import http from 'node:http';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, writePolicy } from '../support/vault-setup.js';

/** Over Envoy's 1 MiB buffer: ~1.5 MB of secret data, as the reproduction wrote. */
const BLOB = 'x'.repeat(1_500_000);
/** Over the buffer however Envoy reads it (one socket read stops at the 1 MiB buffer). */
const HUGE = 'y'.repeat(3_000_000);

/**
 * A POST whose body goes out in 64 KiB pieces, as curl sends a large file: Envoy then gathers it
 * over several reads (a body that arrives in one read is handed over whole, whatever its size).
 */
function postInPieces(base: string, path: string, token: string, json: unknown): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(json));
  const url = new URL(`${base}/v1/${path}`);
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* Envoy's own plain-text answers */ }
        resolve({ status: res.statusCode ?? 0, json: parsed, cache: (res.headers['x-cache'] as string | undefined) ?? null });
      });
    });
    req.on('error', reject);
    let offset = 0;
    const pump = (): void => {
      if (offset >= body.length) {
        req.end();
        return;
      }
      req.write(body.subarray(offset, offset + 65_536));
      offset += 65_536;
      setTimeout(pump, 1);
    };
    pump();
  });
}

interface Answer { status: number; json: any; cache: string | null }

async function call(base: string, method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, cache: res.headers.get('x-cache') };
}

forEachBackend('e2e: large bodies (1.5 and 3 MB) pass through, unrecorded, with both caches on', function (kind) {
  this.timeout(60_000);
  let vault: Backend;
  let stack: Stack;
  showLogsOnFailure(() => [stack], () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'worker', `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`);
    const creds = await setupAppRole(vault, { role: 'large', policies: ['worker'] });
    stack = await startStack({
      vault,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds)}
cache {
  cache_static_secrets = true
}
`,
    });
  });
  after(async () => {
    await stack?.stop();
    await vault?.close();
  });

  it('a 1.5 MB KV write through Envoy (sent in pieces, as curl does) answers as Vault does directly', async () => {
    const direct = await postInPieces(vault.url, 'secret/data/large-direct', vault.rootToken, { data: { blob: BLOB } });
    const through = await postInPieces(stack.url, 'secret/data/large', vault.rootToken, { data: { blob: BLOB } });
    expect(direct.status).to.equal(200);
    expect({ status: through.status, keys: Object.keys(through.json?.data ?? {}).sort() }).to.deep.equal({ status: 200, keys: Object.keys(direct.json.data).sort() });
    expect(through.json.data.version).to.equal(1);
    expect((await call(vault.url, 'GET', 'secret/data/large', vault.rootToken)).json.data.data.blob).to.equal(BLOB);
  });

  it('a 1.5 MB KV read through Envoy answers Vault\'s data, every time', async () => {
    await call(vault.url, 'POST', 'secret/data/large-read', vault.rootToken, { data: { blob: BLOB } });
    const direct = await call(vault.url, 'GET', 'secret/data/large-read', vault.rootToken);
    for (let i = 0; i < 2; i++) {
      const through = await call(stack.url, 'GET', 'secret/data/large-read', vault.rootToken);
      expect(through.status).to.equal(200);
      // Over 256 KiB an answer is never recorded, whether Envoy handed it whole or in part.
      expect(through.json.data).to.deep.equal(direct.json.data);
      expect(through.cache).to.equal('MISS');
    }
  });

  it('a 3 MB KV read goes through and is not recorded (a miss every time)', async () => {
    await call(vault.url, 'POST', 'secret/data/huge', vault.rootToken, { data: { blob: HUGE } });
    const direct = await call(vault.url, 'GET', 'secret/data/huge', vault.rootToken);
    for (let i = 0; i < 2; i++) {
      const through = await call(stack.url, 'GET', 'secret/data/huge', vault.rootToken);
      expect({ status: through.status, cache: through.cache }).to.deep.equal({ status: 200, cache: 'MISS' });
      expect(through.json.data).to.deep.equal(direct.json.data);
    }
  });

  it('a small KV read is still recorded (a hit the second time)', async () => {
    await call(stack.url, 'POST', 'secret/data/small', vault.rootToken, { data: { v: 'small' } });
    const first = await call(stack.url, 'GET', 'secret/data/small', vault.rootToken);
    const second = await call(stack.url, 'GET', 'secret/data/small', vault.rootToken);
    expect([first.cache, second.cache]).to.deep.equal(['MISS', 'HIT']);
    expect(second.json.data.data).to.deep.equal({ v: 'small' });
  });
});
