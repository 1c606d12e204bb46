// secret / secrets / pkiCert against a fake Vault (a TemplateVault answering as Vault 1.15.6 does):
// the KV version preflight and consul-template's path shims, what the functions return, the
// dependencies they record, writes, lists, errors, and pkiCert's reuse of the destination's cert.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  consulTemplateExecuteError, createFuncs, PemEncoded, Secret, VaultDependencyError, type RenderContext, type TemplateVault, type VaultAnswer,
} from '../../../src/template/functions/index.js';
import { JsonNumber } from '../../../src/template/types.js';
import { parseTemplate } from '../../../src/template/engine/index.js';

interface Req { method: string; path: string; body?: unknown }

const json = (status: number, body: unknown): VaultAnswer => ({ status, text: JSON.stringify(body) });

class FakeVault implements TemplateVault {
  requests: Req[] = [];
  kv1 = new Map<string, Record<string, unknown>>();
  kv2 = new Map<string, { data: Record<string, unknown>; deleted?: string }>();
  denied = new Set<string>();
  preflightDenied = false;
  pki: { cert: string; key: string; ca: string } | null = null;

  async request(method: 'GET' | 'LIST' | 'PUT' | 'POST', path: string, body?: unknown): Promise<VaultAnswer> {
    this.requests.push(body === undefined ? { method, path } : { method, path, body });
    const [p, query] = path.split('?') as [string, string | undefined];
    if (this.denied.has(p)) return json(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
    if (p.startsWith('sys/internal/ui/mounts/')) {
      if (this.preflightDenied) return json(403, { errors: ['permission denied'] });
      const rest = p.slice('sys/internal/ui/mounts/'.length);
      const mount = ['kv1/', 'kv2/', 'pki/', 'db/'].find((m) => rest.startsWith(m) || rest === m.slice(0, -1));
      if (!mount) return json(400, { errors: ['no mount found for path'] });
      const type = mount === 'pki/' ? 'pki' : mount === 'db/' ? 'database' : 'kv';
      return json(200, { request_id: 'r', data: { path: mount, type, options: mount === 'kv2/' ? { version: '2' } : mount === 'kv1/' ? { version: '1' } : null } });
    }
    if (p.startsWith('kv1/')) {
      const key = p.slice(4);
      if (method === 'LIST') {
        const prefix = key === '' ? '' : key.replace(/\/?$/, '/');
        const keys = [...this.kv1.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).replace(/\/.*/, '/'));
        return keys.length ? json(200, { data: { keys: [...new Set(keys)] } }) : json(404, { errors: [] });
      }
      if (method === 'PUT') { this.kv1.set(key, body as Record<string, unknown>); return { status: 204, text: '' }; }
      const v = this.kv1.get(key);
      return v ? json(200, { request_id: 'req-1', lease_id: '', lease_duration: 2764800, renewable: false, data: v, warnings: null }) : json(404, { errors: [] });
    }
    if (p.startsWith('kv2/data/')) {
      const key = p.slice('kv2/data/'.length);
      if (method === 'PUT') {
        this.kv2.set(key, { data: (body as { data: Record<string, unknown> }).data });
        return json(200, { data: { version: 2, created_time: '2026-01-01T00:00:00Z', deletion_time: '', destroyed: false } });
      }
      const v = this.kv2.get(key);
      if (!v) return json(404, { errors: [] });
      const metadata = { created_time: '2026-01-01T00:00:00Z', custom_metadata: null, deletion_time: v.deleted ?? '', destroyed: false, version: query === 'version=1' ? 1 : 3 };
      if (v.deleted) return json(404, { data: { data: null, metadata } });
      return json(200, { request_id: 'req-2', lease_id: '', lease_duration: 0, renewable: false, data: { data: v.data, metadata } });
    }
    if (p.startsWith('kv2/metadata/') && method === 'LIST') {
      const key = p.slice('kv2/metadata/'.length).replace(/^\/?/, '');
      const prefix = key === '' ? '' : key.replace(/\/?$/, '/');
      const keys = [...this.kv2.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).replace(/\/.*/, '/'));
      return keys.length ? json(200, { data: { keys: [...new Set(keys)] } }) : json(404, { errors: [] });
    }
    if (p === 'db/creds/app') {
      return json(200, { request_id: 'req-3', lease_id: 'db/creds/app/abc123', lease_duration: 3600, renewable: true, data: { username: 'v-app-xyz', password: 'A1a-secret' }, warnings: null });
    }
    if (p === 'pki/issue/web' && this.pki) {
      return json(200, { lease_id: '', renewable: false, lease_duration: 0, data: { certificate: this.pki.cert, issuing_ca: this.pki.ca, ca_chain: [this.pki.ca], private_key: this.pki.key, private_key_type: 'rsa', serial_number: '01:02', expiration: 1 } });
    }
    return json(404, { errors: [] });
  }
}

function context(vault: FakeVault, extra: Partial<RenderContext> = {}): RenderContext {
  return {
    vault,
    env: () => undefined,
    readFile: async (p) => readFileSync(p, 'utf8'),
    used: [],
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('unit: template functions secret / secrets / pkiCert (fake Vault)', () => {
  let vault: FakeVault;
  beforeEach(() => {
    vault = new FakeVault();
    vault.kv1.set('app', { password: 'v1-pass', port: 5432 });
    vault.kv1.set('dir/a', { x: 1 });
    vault.kv1.set('dir/b/c', { x: 2 });
    vault.kv2.set('app', { data: { password: 'v2-pass', user: 'svc' } });
    vault.kv2.set('team/z', { data: { k: 'z' } });
    vault.kv2.set('team/a', { data: { k: 'a' } });
  });

  it('secret on KV v1: one preflight, the raw path, .Data with numbers as json.Number, a dependency with kvVersion 1', async () => {
    const ctx = context(vault);
    const s = (await createFuncs(ctx)['secret']!('kv1/app')) as Secret;
    expect(s).to.be.instanceOf(Secret);
    expect(s.Data!['password']).to.equal('v1-pass');
    expect(s.Data!['port']).to.deep.equal(new JsonNumber('5432'));
    expect(s.RequestID).to.equal('req-1');
    expect(s.LeaseDuration).to.equal(2764800);
    expect(s.Renewable).to.equal(false);
    expect(vault.requests).to.deep.equal([
      { method: 'GET', path: 'sys/internal/ui/mounts/kv1/app' },
      { method: 'GET', path: 'kv1/app' },
    ]);
    expect(ctx.used).to.deep.equal([{ kind: 'secret', path: 'kv1/app', leaseId: '', leaseDurationSeconds: 2764800, renewable: false, kvVersion: 1 }]);
  });

  it('secret on KV v2 without data/: data/ inserted after the mount; .Data.data and .Data.metadata', async () => {
    const ctx = context(vault);
    const s = (await createFuncs(ctx)['secret']!('kv2/app')) as Secret;
    expect((s.Data!['data'] as Record<string, unknown>)['password']).to.equal('v2-pass');
    expect((s.Data!['metadata'] as Record<string, unknown>)['version']).to.deep.equal(new JsonNumber('3'));
    expect(vault.requests.map((r) => r.path)).to.deep.equal(['sys/internal/ui/mounts/kv2/app', 'kv2/data/app']);
    expect(ctx.used[0]).to.include({ kind: 'secret', path: 'kv2/data/app', kvVersion: 2 });
  });

  it('secret on KV v2 with data/ already in the path is not shimmed twice; ?version=1 is sent as a query', async () => {
    const ctx = context(vault);
    const funcs = createFuncs(ctx);
    await funcs['secret']!('kv2/data/app');
    const v1 = (await funcs['secret']!('kv2/app?version=1')) as Secret;
    expect((v1.Data!['metadata'] as Record<string, unknown>)['version']).to.deep.equal(new JsonNumber('1'));
    expect(vault.requests.map((r) => r.path)).to.deep.equal([
      'sys/internal/ui/mounts/kv2/data/app', 'kv2/data/app',
      'sys/internal/ui/mounts/kv2/app', 'kv2/data/app?version=1',
    ]);
  });

  it('secret trims spaces and slashes of the path as consul-template does; an empty path is "vault.read: invalid format"', async () => {
    const funcs = createFuncs(context(vault));
    await funcs['secret']!('  /kv1/app/ ');
    expect(vault.requests[1]).to.deep.equal({ method: 'GET', path: 'kv1/app' });
    expect((await rejection(Promise.resolve(funcs['secret']!(' / ')))).message).to.equal('vault.read: invalid format: ""');
    expect(await funcs['secret']!()).to.equal(null);
  });

  it('a missing secret, a deleted KV v2 version and a 403 reject with consul-template\'s texts (the template is not rendered)', async () => {
    const funcs = createFuncs(context(vault, { now: () => new Date('2026-06-01T00:00:00Z') }));
    const missing = await rejection(Promise.resolve(funcs['secret']!('kv1/missing')));
    expect(missing).to.be.instanceOf(VaultDependencyError);
    expect(missing.message).to.equal('vault.read(kv1/missing): no secret exists at kv1/missing');
    expect((await rejection(Promise.resolve(funcs['secret']!('kv2/missing')))).message).to.equal('vault.read(kv2/missing): no secret exists at kv2/data/missing');
    vault.kv2.set('gone', { data: {}, deleted: '2026-01-02T00:00:00Z' });
    expect((await rejection(Promise.resolve(funcs['secret']!('kv2/gone')))).message).to.equal('vault.read(kv2/gone): no secret exists at kv2/data/gone');
    vault.denied.add('kv1/app');
    const denied = await rejection(Promise.resolve(funcs['secret']!('kv1/app')));
    expect((denied as VaultDependencyError).status).to.equal(403);
    expect(denied.message).to.match(/^vault\.read\(kv1\/app\): vault\.read\(kv1\/app\): Error making API request\.\n\nURL: GET \/v1\/kv1\/app\nCode: 403\. Errors:\n\n\* 1 error occurred:/);
  });

  it('a KV v2 version deleted in the future is still read', async () => {
    vault.kv2.set('later', { data: { a: 1 }, deleted: '2027-01-01T00:00:00Z' });
    // Vault answers 404 with metadata for a deleted version; a deletion_time still ahead is not deleted.
    const funcs = createFuncs(context(vault, { now: () => new Date('2026-06-01T00:00:00Z') }));
    const s = (await funcs['secret']!('kv2/later')) as Secret;
    expect(s.Data!['data']).to.equal(null);
  });

  it('a failed preflight (403) reads the path as KV v1, unshimmed', async () => {
    vault.preflightDenied = true;
    const ctx = context(vault);
    await rejection(Promise.resolve(createFuncs(ctx)['secret']!('kv2/app')));
    expect(vault.requests.map((r) => r.path)).to.deep.equal(['sys/internal/ui/mounts/kv2/app', 'kv2/app']);
  });

  it('a dynamic secret: LeaseID, LeaseDuration and Renewable, recorded for renewal', async () => {
    const ctx = context(vault);
    const s = (await createFuncs(ctx)['secret']!('db/creds/app')) as Secret;
    expect([s.LeaseID, s.LeaseDuration, s.Renewable, s.Data!['username']]).to.deep.equal(['db/creds/app/abc123', 3600, true, 'v-app-xyz']);
    expect(ctx.used).to.deep.equal([{ kind: 'secret', path: 'db/creds/app', leaseId: 'db/creds/app/abc123', leaseDurationSeconds: 3600, renewable: true, kvVersion: 1 }]);
  });

  it('secret with k=v arguments writes (trimmed pairs; KV v2 wrapped in data); a bad pair is "not k=v pair"', async () => {
    const funcs = createFuncs(context(vault));
    expect(await funcs['secret']!('kv1/w', 'a=1', ' b = x=y ', '')).to.equal(null);
    expect(vault.kv1.get('w')).to.deep.equal({ a: '1', b: 'x=y' });
    const s = (await funcs['secret']!('kv2/w', 'k=v')) as Secret;
    expect(s.Data!['version']).to.deep.equal(new JsonNumber('2'));
    expect(vault.requests.filter((r) => r.method === 'PUT')).to.deep.equal([
      { method: 'PUT', path: 'kv1/w', body: { a: '1', b: 'x=y' } },
      { method: 'PUT', path: 'kv2/data/w', body: { data: { k: 'v' } } },
    ]);
    expect((await rejection(Promise.resolve(funcs['secret']!('kv1/w', 'nope')))).message).to.equal('not k=v pair "nope"');
  });

  it('secrets lists: sorted keys as a []string; KV v2 through metadata/; nothing there is an empty list', async () => {
    const ctx = context(vault);
    const funcs = createFuncs(ctx);
    expect(await funcs['secrets']!('kv1/dir')).to.deep.equal(['a', 'b/']);
    expect(await funcs['secrets']!('kv2/team/')).to.deep.equal(['a', 'z']);
    expect(await funcs['secrets']!('kv1/none')).to.deep.equal([]);
    expect(await funcs['secrets']!('')).to.deep.equal([]);
    expect(vault.requests.filter((r) => r.method === 'LIST').map((r) => r.path)).to.deep.equal(['kv1/dir', 'kv2/metadata/team', 'kv1/none']);
    expect(ctx.used.map((d) => [d.kind, d.path])).to.deep.equal([['secrets', 'kv1/dir'], ['secrets', 'kv2/metadata/team'], ['secrets', 'kv1/none']]);
    // The list is a Go []string: join accepts it.
    expect(funcs['join']!(',', await funcs['secrets']!('kv2/team'))).to.equal('a,z');
  });

  describe('rendered through the engine (as the renderer runs a template)', () => {
    const render = async (text: string, extra: Partial<RenderContext> = {}) =>
      parseTemplate('', text, { funcs: createFuncs(context(vault, extra)) }).execute(null, { missingKey: 'zero' });

    it('with secret / .Data.data / range over a KV v2 map / .Data.port as json.Number', async () => {
      expect(await render('{{ with secret "kv2/app" }}{{ .Data.data.password }}{{ end }}')).to.equal('v2-pass');
      expect(await render('{{ range $k, $v := (secret "kv2/app").Data.data }}{{ $k }}={{ $v }};{{ end }}')).to.equal('password=v2-pass;user=svc;');
      expect(await render('{{ (secret "kv1/app").Data.port }} {{ printf "%T" (secret "kv1/app").Data.port }}')).to.equal('5432 json.Number');
      expect(await render('{{ with secret "db/creds/app" }}{{ .LeaseID }} {{ .LeaseDuration }} {{ .Renewable }}{{ end }}')).to.equal('db/creds/app/abc123 3600 true');
    });

    it('the whole Secret printed (text/template dereferences the *dependency.Secret) and as JSON', async () => {
      expect(await render('{{ secret "kv1/app" }}')).to.equal('{req-1  2764800 false map[password:v1-pass port:5432] [] <nil> <nil>}'); // text/template prints the struct a pointer points to
      expect(await render('{{ secret "kv1/app" | toJSON }}')).to.equal(
        '{"RequestID":"req-1","LeaseID":"","LeaseDuration":2764800,"Renewable":false,"Data":{"password":"v1-pass","port":5432},"Warnings":null,"Auth":null,"WrapInfo":null}');
    });

    it('range over secrets, join of secrets, and the k=v write form inside a template', async () => {
      expect(await render('{{ range secrets "kv2/team" }}{{ . }},{{ end }}|{{ secrets "kv1/dir" | join ";" }}')).to.equal('a,z,|a;b/');
      expect(await render('{{ with secret "kv1/w" "a=1" }}written{{ else }}no answer{{ end }}')).to.equal('no answer');
      expect(vault.kv1.get('w')).to.deep.equal({ a: '1' });
    });

    it('an execution error as consul-template reports it: secret values redacted, then fmt.Errorf of the text', async () => {
      vault.kv1.set('redact', { word: 'entry', pct: '100%q' });
      const ctx = context(vault);
      let err: Error | undefined;
      try {
        await parseTemplate('', '{{ with secret "kv1/redact" }}{{ .Data.word }} {{ .Data.nokey }}{{ printf "%s" "100%q" }}{{ end }}', { funcs: createFuncs(ctx) })
          .execute(null, { missingKey: 'error' });
      } catch (e) { err = e as Error; }
      // The same text real Vault Agent 1.15.6 logs for this template (test/e2e/template-golden, missing-key-error-redacted).
      expect(consulTemplateExecuteError(ctx, err!.message)).to.equal('execute: template: :1:55: executing "" at <.Data.nokey>: map has no [redacted] for key "nokey"');
      expect(consulTemplateExecuteError(ctx, 'x 100%q y %% z %')).to.equal('execute: x [redacted] y % z %!(NOVERB)');
    });

    it('a missing secret fails the render with consul-template\'s message', async () => {
      let err: Error | undefined;
      try { await render('{{ with secret "kv1/missing" }}{{ .Data }}{{ end }}'); } catch (e) { err = e as Error; }
      expect(err?.message).to.equal('template: :1:8: executing "" at <secret "kv1/missing">: error calling secret: vault.read(kv1/missing): no secret exists at kv1/missing');
    });
  });

  describe('pkiCert', () => {
    let dir: string;
    let issued: { cert: string; key: string; ca: string };
    let other: { cert: string; key: string };
    before(function () {
      this.timeout(60_000);
      dir = mkdtempSync(join(tmpdir(), 'vxp-pkicert-'));
      const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=test-ca']);
      for (const n of ['leaf', 'other']) {
        ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${n}.example.com`]);
        ssl(['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.pem`, '-days', n === 'leaf' ? '20' : '10']);
      }
      const read = (f: string) => readFileSync(join(dir, f), 'utf8').trim();
      issued = { cert: read('leaf.pem'), key: read('leaf.key'), ca: read('ca.pem') };
      other = { cert: read('other.pem'), key: read('other.key') };
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('issues when the destination has no certificate: .Cert, .Key, .CA (PEM with a final newline) and .Data.Cert; recorded with NotAfter', async () => {
      vault.pki = issued;
      const ctx = context(vault, { destination: join(dir, 'absent.pem') });
      const p = (await createFuncs(ctx)['pkiCert']!('pki/issue/web', 'common_name=leaf.example.com', 'ttl=24h')) as PemEncoded;
      expect(p).to.be.instanceOf(PemEncoded);
      expect(p.Cert).to.equal(issued.cert + '\n');
      expect(p.Key).to.equal(issued.key + '\n');
      expect(p.CA).to.equal(issued.ca + '\n');
      expect((p as unknown as { Data: PemEncoded }).Data.Cert).to.equal(p.Cert);
      expect(vault.requests).to.deep.equal([{ method: 'PUT', path: 'pki/issue/web', body: { common_name: 'leaf.example.com', ttl: '24h' } }]);
      const dep = ctx.used[0]!;
      expect(dep.kind).to.equal('pkiCert');
      expect(dep.path).to.equal('pki/issue/web');
      expect(dep.expiresAtMs! - Date.now()).to.be.within(19 * 86_400_000, 20 * 86_400_000 + 60_000);
    });

    it('reuses the certificate already at the destination while it is good (no Vault request), and issues again near its end', async () => {
      vault.pki = issued;
      const dest = join(dir, 'dest.pem');
      writeFileSync(dest, `${other.cert}\n${other.key}\n`);
      const ctx = context(vault, { destination: dest });
      const p = (await createFuncs(ctx)['pkiCert']!('pki/issue/web', 'common_name=other.example.com')) as PemEncoded;
      expect(p.Cert).to.equal(other.cert + '\n');
      expect(p.Key).to.equal(other.key + '\n');
      expect(vault.requests).to.deep.equal([]);
      // Nine and a half days later 90% of what is left is less than 10% of its life: a new one is issued.
      const later = context(vault, { destination: dest, now: () => new Date(Date.now() + 9.5 * 86_400_000) });
      const q = (await createFuncs(later)['pkiCert']!('pki/issue/web', 'common_name=other.example.com')) as PemEncoded;
      expect(q.Cert).to.equal(issued.cert + '\n');
      expect(vault.requests.map((r) => r.path)).to.deep.equal(['pki/issue/web']);
    });

    it('rendered: .Data.Cert (the documented form), .Cert .Key .CA, and toJSON leaves the Data method out', async () => {
      vault.pki = issued;
      const render = async (text: string) => parseTemplate('', text, { funcs: createFuncs(context(vault, { destination: join(dir, 'none.pem') })) }).execute(null, { missingKey: 'zero' });
      expect(await render('{{ with pkiCert "pki/issue/web" "common_name=leaf.example.com" }}{{ .Data.Cert }}{{ .Data.Key }}{{ end }}')).to.equal(`${issued.cert}\n${issued.key}\n`);
      expect(await render('{{ with pkiCert "pki/issue/web" "common_name=leaf.example.com" }}{{ .Cert }}{{ .CA }}{{ end }}')).to.equal(`${issued.cert}\n${issued.ca}\n`);
      expect(JSON.parse(await render('{{ pkiCert "pki/issue/web" "common_name=leaf.example.com" | toJSON }}'))).to.have.keys('Cert', 'Key', 'CA');
    });

    it('no arguments is nil; a bad pair is "not k=v pair"; an empty path is consul-template\'s "vault.read: invalid format"', async () => {
      const funcs = createFuncs(context(vault));
      expect(await funcs['pkiCert']!()).to.equal(null);
      expect((await rejection(Promise.resolve(funcs['pkiCert']!('pki/issue/web', 'cn')))).message).to.equal('not k=v pair "cn"');
      expect((await rejection(Promise.resolve(funcs['pkiCert']!('/')))).message).to.equal('vault.read: invalid format: ""');
    });
  });
});
