// consul-template's Vault functions (secret, secrets, pkiCert) against a real Vault 1.15.6 and the
// simulator, through a TemplateVault doing plain HTTP with a token: KV v1, KV v2 with and without
// data/ in the path (the sys/internal/ui/mounts preflight), a token that may read only KV v2 data,
// writes, lists, a missing path. pkiCert issues from a PKI mount on the real Vault (the simulator
// has no PKI engine, so that test is registered for the real backend only).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  createFuncs, PemEncoded, Secret, VaultDependencyError, type RenderContext, type TemplateVault,
} from '../../../src/template/functions/index.js';
import { JsonNumber } from '../../../src/template/types.js';
import { forEachBackend, startBackend, type Backend, realOnly } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { vaultApi, writePolicy } from '../../support/vault-setup.js';

function httpVault(url: string, token: string, seen: string[]): TemplateVault {
  return {
    async request(method, path, body) {
      seen.push(`${method} ${path}`);
      const res = await fetch(`${url}/v1/${path}`, {
        method,
        headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, text: await res.text() };
    },
  };
}

async function rejection(p: unknown): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

forEachBackend('templates: secret / secrets / pkiCert against Vault', function (kind) {
  this.timeout(60_000);
  let backend: Backend;
  let dir: string;
  let seen: string[];

  before(async () => {
    backend = await startBackend(kind);
    dir = mkdtempSync(join(tmpdir(), 'vxp-tplfn-'));
    await vaultApi(backend, 'POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
    await vaultApi(backend, 'POST', 'sys/mounts/kv2', { type: 'kv', options: { version: '2' } });
    await vaultApi(backend, 'PUT', 'kv1/app', { password: 'v1-pass', port: 5432 });
    await vaultApi(backend, 'PUT', 'kv1/dir/b', { x: '1' });
    await vaultApi(backend, 'PUT', 'kv1/dir/a/c', { x: '2' });
    // A new KV v2 mount may still be setting up: retry the first write.
    await waitFor('the KV v2 mount', async () => (await vaultApi(backend, 'PUT', 'kv2/data/app', { data: { password: 'v2-pass', user: 'svc' } })).status);
    await vaultApi(backend, 'PUT', 'kv2/data/app', { data: { password: 'v2-pass-2', user: 'svc' } });
    await vaultApi(backend, 'PUT', 'kv2/data/team/z', { data: { k: 'z' } });
    await vaultApi(backend, 'PUT', 'kv2/data/team/a', { data: { k: 'a' } });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await backend?.close();
  });
  beforeEach(() => { seen = []; });

  function ctx(token = backend.rootToken, extra: Partial<RenderContext> = {}): RenderContext {
    return { vault: httpVault(backend.url, token, seen), env: () => undefined, readFile: async (p) => readFileSync(p, 'utf8'), used: [], ...extra };
  }

  it('KV v1: .Data as written (numbers as json.Number), one preflight then the raw path', async () => {
    const c = ctx();
    const s = (await createFuncs(c)['secret']!('kv1/app')) as Secret;
    expect(s).to.be.instanceOf(Secret);
    expect(s.Data).to.deep.equal({ password: 'v1-pass', port: new JsonNumber('5432') });
    expect([s.LeaseID, s.Renewable]).to.deep.equal(['', false]);
    expect(s.LeaseDuration).to.equal(2764800); // the KV v1 default TTL hint (32 days)
    expect(seen).to.deep.equal(['GET sys/internal/ui/mounts/kv1/app', 'GET kv1/app']);
    expect(c.used).to.deep.equal([{ kind: 'secret', path: 'kv1/app', leaseId: '', leaseDurationSeconds: 2764800, renewable: false, kvVersion: 1 }]);
  });

  it('KV v2 without data/: data/ inserted; .Data.data is the latest version, .Data.metadata.version is json.Number 2', async () => {
    const c = ctx();
    const s = (await createFuncs(c)['secret']!('kv2/app')) as Secret;
    const data = s.Data!['data'] as Record<string, unknown>;
    const metadata = s.Data!['metadata'] as Record<string, unknown>;
    expect(data).to.deep.equal({ password: 'v2-pass-2', user: 'svc' });
    expect(metadata['version']).to.deep.equal(new JsonNumber('2'));
    expect(metadata['deletion_time']).to.equal('');
    expect(seen).to.deep.equal(['GET sys/internal/ui/mounts/kv2/app', 'GET kv2/data/app']);
    expect(c.used[0]).to.include({ kind: 'secret', path: 'kv2/data/app', kvVersion: 2 });
  });

  it('KV v2 with data/ in the path reads the same path; ?version=1 reads the first version', async () => {
    const funcs = createFuncs(ctx());
    const s = (await funcs['secret']!('kv2/data/app')) as Secret;
    expect((s.Data!['data'] as Record<string, unknown>)['password']).to.equal('v2-pass-2');
    const v1 = (await funcs['secret']!('kv2/app?version=1')) as Secret;
    expect((v1.Data!['data'] as Record<string, unknown>)['password']).to.equal('v2-pass');
    expect(seen).to.deep.equal([
      'GET sys/internal/ui/mounts/kv2/data/app', 'GET kv2/data/app',
      'GET sys/internal/ui/mounts/kv2/app', 'GET kv2/data/app?version=1',
    ]);
  });

  it('a token allowed only kv2/data/app still gets the preflight (unauthenticated) and reads with data/ inserted', async () => {
    await writePolicy(backend, 'tpl-read', 'path "kv2/data/app" { capabilities = ["read"] }');
    const token = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['tpl-read'], ttl: '10m' })).json.auth.client_token as string;
    const s = (await createFuncs(ctx(token))['secret']!('kv2/app')) as Secret;
    expect((s.Data!['data'] as Record<string, unknown>)['user']).to.equal('svc');
    const denied = await rejection(createFuncs(ctx(token))['secret']!('kv1/app'));
    expect(denied).to.be.instanceOf(VaultDependencyError);
    expect((denied as VaultDependencyError).status).to.equal(403);
  });

  it('secrets lists sorted keys (KV v1 as is, KV v2 through metadata/); an empty place is an empty list', async () => {
    const funcs = createFuncs(ctx());
    expect(await funcs['secrets']!('kv1/dir')).to.deep.equal(['a/', 'b']);
    expect(await funcs['secrets']!('kv2/team')).to.deep.equal(['a', 'z']);
    expect(await funcs['secrets']!('kv2/nothing-here')).to.deep.equal([]);
    expect(seen.filter((s) => s.startsWith('LIST'))).to.deep.equal(['LIST kv1/dir', 'LIST kv2/metadata/team', 'LIST kv2/metadata/nothing-here']);
  });

  it('a missing path rejects with consul-template\'s "no secret exists at" (KV v1 and KV v2)', async () => {
    const funcs = createFuncs(ctx());
    expect((await rejection(funcs['secret']!('kv1/missing'))).message).to.equal('vault.read(kv1/missing): no secret exists at kv1/missing');
    expect((await rejection(funcs['secret']!('kv2/missing'))).message).to.equal('vault.read(kv2/missing): no secret exists at kv2/data/missing');
  });

  it('secret with k=v writes: KV v1 as given, KV v2 wrapped in data (its answer is the new version)', async () => {
    const funcs = createFuncs(ctx());
    expect(await funcs['secret']!('kv1/written', 'a=1', ' b = two ')).to.equal(null);
    expect((await vaultApi(backend, 'GET', 'kv1/written')).json.data).to.deep.equal({ a: '1', b: 'two' });
    const s = (await funcs['secret']!('kv2/written', 'k=v')) as Secret;
    expect(s.Data!['version']).to.deep.equal(new JsonNumber('1'));
    expect((await vaultApi(backend, 'GET', 'kv2/data/written')).json.data.data).to.deep.equal({ k: 'v' });
  });

  realOnly(kind)('pkiCert issues from a PKI mount, then reuses the certificate written to the destination', async () => {
    await vaultApi(backend, 'POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    const root = (await vaultApi(backend, 'POST', 'pki/root/generate/internal', { common_name: 'tpl-test-root', ttl: '8760h' })).json.data.certificate as string;
    await vaultApi(backend, 'POST', 'pki/roles/web', { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h' });
    const dest = join(dir, 'web.pem');
    const c = ctx(backend.rootToken, { destination: dest });
    const p = (await createFuncs(c)['pkiCert']!('pki/issue/web', 'common_name=a.example.com', 'ttl=24h')) as PemEncoded;
    expect(p).to.be.instanceOf(PemEncoded);
    const cert = new X509Certificate(p.Cert);
    expect(cert.subject).to.equal('CN=a.example.com');
    expect(p.Key).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----\n$/);
    expect(p.CA).to.equal(root + '\n');
    expect(seen).to.deep.equal(['PUT pki/issue/web']);
    expect(c.used[0]!.expiresAtMs).to.equal(Date.parse(cert.validTo));
    // What a template would write: the cert and key. The next render reuses it without asking Vault.
    writeFileSync(dest, p.Cert + p.Key);
    seen.length = 0;
    const again = (await createFuncs(ctx(backend.rootToken, { destination: dest }))['pkiCert']!('pki/issue/web', 'common_name=a.example.com', 'ttl=24h')) as PemEncoded;
    expect(again.Cert).to.equal(p.Cert);
    expect(again.Key).to.equal(p.Key);
    expect(seen).to.deep.equal([]);
  });
});
