// The persistent cache through real Envoy + vault-extproc, on the simulator and on a real Vault
// 1.15.6 (forEachBackend). "Vault down" is "Vault unreachable": the backend's stop() closes the
// path between vault-extproc (and Envoy) and Vault — a real dev server would forget everything if
// it were restarted. vault-extproc is stopped (SIGTERM) or killed (SIGKILL) and started again on
// the same config, with the same Envoy in front.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { forEachBackend, realOnly, type Backend } from '../support/backend.js';
import { startDatabaseBackend, type DatabaseBackend } from '../support/database-backend.js';
import { CLI } from '../support/paths.js';
import { waitFor, sleep } from '../support/ports.js';
import { Proc } from '../support/process.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../support/vault-setup.js';

const READER = 'path "secret/data/app/*" { capabilities = ["read"] }';
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }`;
const STORE_FILE = 'vault-extproc-cache.mdb';
const STALE_WARNING = '110 - "Response is Stale"';

interface Res { status: number; body: string; headers: Headers }

async function get(url: string, path: string, token?: string): Promise<Res> {
  const res = await fetch(`${url}${path}`, { headers: token ? { 'x-vault-token': token } : {} });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A metric's value from the admin /metrics text (summed over label sets matching `labels`). */
async function metric(adminUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

forEachBackend('e2e: persistent cache, offline start and stale answers through real Envoy', function (kind) {
  this.timeout(180_000);
  let db: DatabaseBackend;
  let backend: Backend;
  let creds: AppRoleCreds;
  const stacks: Stack[] = [];
  /** vault-extproc processes started again by a test (the stack's own is the first). */
  const services: Proc[] = [];
  showLogsOnFailure(() => stacks, () => db?.backend);
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const s of services) process.stderr.write(`\n--- restarted vault-extproc ---\n${s.text}\n`);
  });

  before(async () => {
    db = await startDatabaseBackend(kind);
    await db.role('app', { default_ttl: '1h', max_ttl: '24h' });
    backend = db.backend;
    await writePolicy(backend, 'reader', READER);
    await writePolicy(backend, 'worker', WORKER);
    creds = await setupAppRole(backend, { role: 'persist', policies: ['worker'], tokenTtl: '1h' });
  });
  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(stacks.map((s) => s.stop()));
    await db?.close();
  });
  afterEach(async () => {
    await backend.start();
  });

  /** A stack with the persistent cache; `cacheHcl` adds keys to the cache block. */
  async function persistStack(cacheHcl: string, opts: { keyFile?: (dir: string) => string } = {}): Promise<Stack> {
    const stack = await startStack({
      vault: backend,
      hcl: ({ dir }) => {
        const keyFile = opts.keyFile?.(dir) ?? join(dir, 'persist.key');
        writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
        return `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache {
  cache_static_secrets = true
  ${cacheHcl}
  persist "file" {
    path = "${join(dir, 'persist')}"
    key_file = "${keyFile}"
    readiness = "cache"
  }
}
`;
      },
    });
    stacks.push(stack);
    return stack;
  }

  /**
   * Stops (SIGTERM) or kills (SIGKILL) vault-extproc, runs `between` (cut Vault), and starts it again
   * on the stack's config (same sockets, same Envoy); waits for /readyz (or /healthz).
   */
  async function restart(stack: Stack, how: 'SIGTERM' | 'SIGKILL', opts: { current?: Proc; between?: () => Promise<void>; wait?: 'readyz' | 'healthz' } = {}): Promise<{ proc: Proc; startedAt: number }> {
    const current = opts.current ?? stack.service;
    if (how === 'SIGKILL') current.signal('SIGKILL');
    await (how === 'SIGKILL' ? current.exited : current.stop());
    await opts.between?.();
    const env = { ...process.env };
    delete env['VAULT_ADDR'];
    const startedAt = Date.now();
    const proc = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', stack.configPath, '--log-level', 'debug'], env);
    services.push(proc);
    await waitFor('the restarted vault-extproc ready', async () => {
      const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault-extproc exited with ${code}:\n${proc.text}`);
      const res = await fetch(`${stack.adminUrl}/${opts.wait ?? 'readyz'}`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 15_000, 20);
    return { proc, startedAt };
  }

  async function readerToken(): Promise<string> {
    return (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['reader'], ttl: '1h' })).json.auth.client_token as string;
  }

  /** Reads until the token's cached access is granted (the worker's lookup-self): X-Cache: HIT. */
  async function cachedHit(stack: Stack, path: string, token: string): Promise<Res> {
    // Right after Vault comes back, Envoy may still answer 503 from a connection it had to the closed port.
    return waitFor(`a HIT for ${path}`, async () => {
      const r = await get(stack.url, path, token);
      expect(r.status).to.be.oneOf([200, 503]);
      return r.status === 200 && r.headers.get('x-cache') === 'HIT' ? r : undefined;
    }, 15_000, 100);
  }

  async function leaseLookup(leaseId: string): Promise<{ expire_time: string; last_renewal: string | null }> {
    const r = await vaultApi(backend, 'POST', 'sys/leases/lookup', { lease_id: leaseId });
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    return r.json.data;
  }

  it('offline start: cached secrets and a lease are answered from the persisted store with Vault unreachable; once Vault is back the lease is renewed (same id, TTL extended), not issued again', async () => {
    // Events sent while vault-extproc was away are lost: restored secrets are read again at the next
    // static_secret_refresh_interval once their tokens were looked up again (2 s here).
    const stack = await persistStack('static_secret_refresh_interval = "2s"');
    await vaultApi(backend, 'POST', 'secret/data/app/one', { data: { password: 'offline-one' } });
    await vaultApi(backend, 'POST', 'secret/data/app/two', { data: { password: 'offline-two' } });
    const token = await readerToken();
    const one = await cachedHit(stack, '/v1/secret/data/app/one', token);
    await cachedHit(stack, '/v1/secret/data/app/two', token);
    backend.clearRequests();
    const lease = await get(stack.url, '/v1/database/creds/app');
    expect([lease.status, lease.headers.get('x-cache')]).to.deep.equal([200, 'MISS']);
    const leaseId = JSON.parse(lease.body).lease_id as string;
    const before = await leaseLookup(leaseId);
    const autoAuthToken = readFileSync(join(stack.dir, 'token'), 'utf8').trim();
    await sleep(300); // one flush (100 ms)

    // Stopped, Vault cut, started alone on the persisted store.
    const offline = await restart(stack, 'SIGTERM', { between: () => backend.stop() });
    const hit = await get(stack.url, '/v1/secret/data/app/one', token);
    expect([hit.status, hit.headers.get('x-cache'), hit.headers.get('warning')]).to.deep.equal([200, 'HIT', null]);
    expect(JSON.parse(hit.body).data.data).to.deep.equal(JSON.parse(one.body).data.data);
    const leaseHit = await get(stack.url, '/v1/database/creds/app');
    expect([leaseHit.status, leaseHit.headers.get('x-cache')]).to.deep.equal([200, 'HIT']);
    expect(JSON.parse(leaseHit.body).lease_id).to.equal(leaseId);
    // A token that never proved access gets nothing from the cache (Vault is down: Envoy's 503).
    const stranger = await get(stack.url, '/v1/secret/data/app/one', 'hvs.never-proven-token');
    expect(stranger.headers.get('x-cache')).to.not.equal('HIT');

    const backAt = Date.now();
    await backend.start();
    const renewed = await waitFor('the restored lease renewed', async () => {
      const now = await leaseLookup(leaseId);
      return now.last_renewal && Date.parse(now.last_renewal) >= backAt - 1_000 ? now : undefined;
    }, 60_000, 250);
    // Renewed for what was left of it at the restart (the increment the renewer asks for): never shorter.
    expect(Date.parse(renewed.expire_time)).to.be.at.least(Date.parse(before.expire_time) - 1_000);
    process.stdout.write(`      [${kind}] restored lease renewed ${((Date.now() - backAt) / 1000).toFixed(1)} s after Vault came back (expire_time ${before.expire_time} → ${renewed.expire_time})\n`);
    expect(await metric(stack.adminUrl, 'vault_extproc_renewals_total', 'outcome="success"')).to.be.greaterThan(0);
    // The restored auto-auth token was taken over (Vault Agent reuses its persisted token), so the
    // lease stays its own: the same request is still a HIT with the same lease after Vault is back.
    const afterBack = await get(stack.url, '/v1/database/creds/app');
    expect([afterBack.headers.get('x-cache'), JSON.parse(afterBack.body).lease_id]).to.deep.equal(['HIT', leaseId]);
    expect(readFileSync(join(stack.dir, 'token'), 'utf8').trim()).to.equal(autoAuthToken);
    expect(backend.requestsTo('/v1/auth/approle/login')).to.have.length(0);
    // Renewed, not issued again: database/creds/app reached Vault once (the first MISS).
    expect(backend.requestsTo('/v1/database/creds/app')).to.have.length(1);
    // The restored token was looked up again once Vault answered, so the restored secret is kept
    // true again: a write made directly in Vault is served from the cache (KV event, refetch).
    await vaultApi(backend, 'POST', 'secret/data/app/one', { data: { password: 'changed-after-restart' } });
    await waitFor('the new value from the cache', async () => {
      const r = await get(stack.url, '/v1/secret/data/app/one', token);
      return r.headers.get('x-cache') === 'HIT' && JSON.parse(r.body).data.data.password === 'changed-after-restart' ? true : undefined;
    }, 15_000, 200);
    expect(offline.proc.text).to.not.include(token);
  });

  it('the persisted store holds no token, secret value, accessor, lease id or path in clear (the raw LMDB file and its keys and values read by hand)', async () => {
    const stack = await persistStack('');
    await vaultApi(backend, 'POST', 'secret/data/app/clear', { data: { password: 'clear-text-canary-51c3' } });
    const token = await readerToken();
    const accessor = (await vaultApi(backend, 'POST', 'auth/token/lookup', { token })).json.data.accessor as string;
    await cachedHit(stack, '/v1/secret/data/app/clear', token);
    const lease = await get(stack.url, '/v1/database/creds/app');
    const leaseBody = JSON.parse(lease.body);
    await sleep(300);
    const autoAuthToken = readFileSync(join(stack.dir, 'token'), 'utf8').trim();
    const dir = join(stack.dir, 'persist');
    const file = readFileSync(join(dir, STORE_FILE));
    const db = open<Buffer, string>({ path: join(dir, STORE_FILE), encoding: 'binary', keyEncoding: 'ordered-binary', readOnly: true });
    const raw: Buffer[] = [];
    for (const { key, value } of db.getRange()) raw.push(Buffer.from(key), Buffer.from(value));
    await db.close();
    expect(raw.length).to.be.at.least(2 * 4); // the secret, the token, the lease, the auto-auth token
    const needles = [token, autoAuthToken, accessor, 'clear-text-canary-51c3', 'secret/data/app/clear', 'app/clear', leaseBody.lease_id, leaseBody.data.password, leaseBody.data.username, 'database/creds'];
    for (const needle of needles) {
      for (const hay of [file, ...raw]) {
        expect(hay.includes(Buffer.from(needle)), `"${needle.slice(0, 12)}…" in clear`).to.equal(false);
      }
    }
    expect(readdirSync(dir).sort()).to.deep.equal([STORE_FILE, `${STORE_FILE}-lock`]);
  });

  it('a wrong key and a flipped byte are refused: the entry is not served, the refusal is counted', async () => {
    const stack = await persistStack('');
    await vaultApi(backend, 'POST', 'secret/data/app/keyed', { data: { password: 'keyed' } });
    const token = await readerToken();
    await cachedHit(stack, '/v1/secret/data/app/keyed', token);
    await sleep(300);
    // A flipped byte in the secret's record, written while vault-extproc is stopped.
    const flipByte = async (): Promise<void> => {
      const db = open<Buffer, string>({ path: join(stack.dir, 'persist', STORE_FILE), encoding: 'binary', keyEncoding: 'ordered-binary' });
      const secret = [...db.getRange()].map(({ key, value }) => ({ key, value: Buffer.from(value) })).find((r) => r.key.startsWith('s'))!;
      secret.value[secret.value.length - 30]! ^= 0x04;
      await db.put(secret.key, secret.value);
      await db.close();
      await backend.stop();
    };
    const flipped = await restart(stack, 'SIGTERM', { between: flipByte });
    expect((await get(stack.url, '/v1/secret/data/app/keyed', token)).headers.get('x-cache')).to.not.equal('HIT');
    expect(await metric(stack.adminUrl, 'vault_extproc_persist_refused_total', 'reason="tampered"')).to.equal(1);
    await backend.start();
    // Vault back: read (and persisted) again; then a wrong key refuses every record.
    await cachedHit(stack, '/v1/secret/data/app/keyed', token);
    await sleep(300);
    // Another key (nothing restored: no auto-auth token either, so only /healthz).
    await restart(stack, 'SIGTERM', {
      current: flipped.proc, wait: 'healthz',
      between: async () => {
        writeFileSync(join(stack.dir, 'persist.key'), `${randomBytes(32).toString('base64')}\n`);
        await backend.stop();
      },
    });
    expect((await get(stack.url, '/v1/secret/data/app/keyed', token)).headers.get('x-cache')).to.not.equal('HIT');
    expect(await metric(stack.adminUrl, 'vault_extproc_persist_refused_total', 'reason="wrong_key"')).to.be.at.least(3);
    expect(await metric(stack.adminUrl, 'vault_extproc_cache_entries', 'cache="static"')).to.equal(0);
  });

  describe('the bound while Vault stays unreachable', () => {
    // Grants last one capability interval (12 s) + static_secret_max_stale (0) after Vault's last confirmation.
    const BOUND_S = 12;
    const STALE_S = 12;

    async function provenJustNow(stack: Stack, token: string, n: string): Promise<number> {
      await vaultApi(backend, 'POST', `secret/data/app/${n}`, { data: { v: n } });
      await vaultApi(backend, 'POST', `secret/data/app/${n}-fresh`, { data: { v: n } });
      await cachedHit(stack, `/v1/secret/data/app/${n}`, token);
      // A read Vault answers for this token confirms it: its grant now ends BOUND_S from here.
      const confirmedAt = Date.now();
      expect((await get(stack.url, `/v1/secret/data/app/${n}-fresh`, token)).headers.get('x-cache')).to.equal('MISS');
      await sleep(300);
      return confirmedAt;
    }

    it('without serve_stale: served within the bound after an offline restart, not past it, never to a token that did not prove access', async () => {
      const stack = await persistStack(`static_secret_token_capability_refresh_interval = "${BOUND_S}s"\n  static_secret_max_stale = "0s"`);
      const token = await readerToken();
      const other = await readerToken();
      const confirmedAt = await provenJustNow(stack, token, 'bound');
      let cutAt = 0;
      await restart(stack, 'SIGKILL', { between: async () => { await backend.stop(); cutAt = Date.now(); } });
      expect(Date.now() - confirmedAt).to.be.below(BOUND_S * 1000 - 2_000);
      const inside = await get(stack.url, '/v1/secret/data/app/bound', token);
      expect([inside.status, inside.headers.get('x-cache'), inside.headers.get('warning')]).to.deep.equal([200, 'HIT', null]);
      expect((await get(stack.url, '/v1/secret/data/app/bound', other)).headers.get('x-cache')).to.not.equal('HIT');
      // Every confirmation began before Vault was cut: the grant ends at most BOUND_S after that.
      await sleep(cutAt + BOUND_S * 1000 + 500 - Date.now());
      const past = await get(stack.url, '/v1/secret/data/app/bound', token);
      expect(past.headers.get('x-cache')).to.not.equal('HIT');
      expect(past.status).to.equal(503);
      expect(await metric(stack.adminUrl, 'vault_extproc_stale_answers_total')).to.equal(0);
    });

    it('with serve_stale: past the bound, answered with X-Cache: HIT and Warning: 110 within serve_stale_max, counted; not after it; never to a token that did not prove access', async () => {
      const stack = await persistStack(`static_secret_token_capability_refresh_interval = "${BOUND_S}s"\n  static_secret_max_stale = "0s"\n  serve_stale = true\n  serve_stale_max = "${STALE_S}s"`);
      const token = await readerToken();
      const other = await readerToken();
      const confirmedAt = await provenJustNow(stack, token, 'stale');
      let cutAt = 0;
      await restart(stack, 'SIGKILL', { between: async () => { await backend.stop(); cutAt = Date.now(); } });
      const inside = await get(stack.url, '/v1/secret/data/app/stale', token);
      expect([inside.headers.get('x-cache'), inside.headers.get('warning')]).to.deep.equal(['HIT', null]);
      await sleep(cutAt + BOUND_S * 1000 + 500 - Date.now());
      const stale = await get(stack.url, '/v1/secret/data/app/stale', token);
      expect([stale.status, stale.headers.get('x-cache'), stale.headers.get('warning')]).to.deep.equal([200, 'HIT', STALE_WARNING]);
      expect(JSON.parse(stale.body).data.data).to.deep.equal({ v: 'stale' });
      expect((await get(stack.url, '/v1/secret/data/app/stale', other)).headers.get('x-cache')).to.not.equal('HIT');
      expect(await metric(stack.adminUrl, 'vault_extproc_stale_answers_total')).to.equal(1);
      await sleep(cutAt + (BOUND_S + STALE_S) * 1000 + 500 - Date.now());
      const after = await get(stack.url, '/v1/secret/data/app/stale', token);
      expect(after.headers.get('x-cache')).to.not.equal('HIT');
      // Vault back: a fresh answer again, no Warning.
      await backend.start();
      const fresh = await cachedHit(stack, '/v1/secret/data/app/stale', token);
      expect(fresh.headers.get('warning')).to.equal(null);
    });
  });

  // Sealing needs a real Vault (the simulator has no seal); the dev server prints its unseal key.
  realOnly(kind)('with serve_stale: a sealed Vault counts as down — past the bound, stale answers with Warning: 110; unsealed, fresh again', async () => {
    const stack = await persistStack('static_secret_token_capability_refresh_interval = "10s"\n  static_secret_max_stale = "0s"\n  serve_stale = true\n  serve_stale_max = "30s"');
    await vaultApi(backend, 'POST', 'secret/data/app/sealed', { data: { v: 'sealed' } });
    const token = await readerToken();
    await cachedHit(stack, '/v1/secret/data/app/sealed', token);
    const unsealKey = /Unseal Key: (\S+)/.exec(backend.logs())?.[1];
    expect(unsealKey, 'the dev server\'s unseal key').to.be.a('string');
    expect((await vaultApi(backend, 'POST', 'sys/seal')).status).to.equal(204);
    const sealedAt = Date.now();
    try {
      await sleep(sealedAt + 10_500 - Date.now());
      const stale = await get(stack.url, '/v1/secret/data/app/sealed', token);
      expect([stale.status, stale.headers.get('x-cache'), stale.headers.get('warning')]).to.deep.equal([200, 'HIT', STALE_WARNING]);
    } finally {
      expect((await vaultApi(backend, 'POST', 'sys/unseal', { key: unsealKey })).json.sealed).to.equal(false);
    }
    // Stale answers end once a health probe (every 2 s) sees Vault unsealed; then the token reads fresh.
    const unsealedAt = Date.now();
    await waitFor('a fresh answer', async () => {
      const r = await get(stack.url, '/v1/secret/data/app/sealed', token);
      return r.status === 200 && r.headers.get('warning') === null ? r : undefined;
    }, 10_000, 100);
    expect(Date.now() - unsealedAt).to.be.below(5_000);
  });

  it('chaos: vault-extproc killed with SIGKILL mid-traffic and restarted on its persisted store while Vault is unreachable serves within the bound; Vault back, renewals resume', async () => {
    const stack = await persistStack('static_secret_token_capability_refresh_interval = "60s"');
    await vaultApi(backend, 'POST', 'secret/data/app/chaos', { data: { v: 'chaos' } });
    const token = await readerToken();
    await cachedHit(stack, '/v1/secret/data/app/chaos', token);
    const lease = JSON.parse((await get(stack.url, '/v1/database/creds/app')).body);
    const before = await leaseLookup(lease.lease_id);
    await sleep(300);
    // Traffic: reads every 20 ms, recording when each was answered from the cache.
    let running = true;
    const hits: number[] = [];
    const failures: number[] = [];
    const traffic = (async () => {
      while (running) {
        const r = await get(stack.url, '/v1/secret/data/app/chaos', token).catch(() => undefined);
        if (r?.status === 200 && r.headers.get('x-cache') === 'HIT') hits.push(Date.now());
        else failures.push(Date.now());
        await sleep(20);
      }
    })();
    await sleep(500);
    const killedAt = Date.now();
    const { startedAt } = await restart(stack, 'SIGKILL', { between: () => backend.stop() });
    await waitFor('a HIT after the restart', () => (hits.some((t) => t > startedAt) ? true : undefined), 10_000);
    const firstHit = hits.find((t) => t > killedAt)!;
    process.stdout.write(`      [${kind}] chaos: SIGKILL → first cached answer again ${((firstHit - killedAt) / 1000).toFixed(2)} s (process start → first hit ${((firstHit - startedAt) / 1000).toFixed(2)} s), ${failures.filter((t) => t > killedAt).length} requests failed meanwhile, Vault unreachable\n`);
    const backAt = Date.now();
    await backend.start();
    const renewed = await waitFor('renewals resumed', async () => {
      const now = await leaseLookup(lease.lease_id);
      return now.last_renewal && Date.parse(now.last_renewal) >= backAt - 1_000 ? now : undefined;
    }, 60_000, 250);
    expect(Date.parse(renewed.expire_time)).to.be.at.least(Date.parse(before.expire_time) - 1_000);
    running = false;
    await traffic;
    process.stdout.write(`      [${kind}] chaos: Vault back → restored lease renewed ${((Date.now() - backAt) / 1000).toFixed(1)} s later (same lease id, expire_time ${before.expire_time} → ${renewed.expire_time})\n`);
    expect(hits.filter((t) => t > startedAt).length).to.be.greaterThan(0);
  });
});
