// Attacks on the persistent cache (issue 17) through real Envoy + vault-extproc, on both backends:
// 1. A store made against Vault A loaded by a config pointing at another Vault B (same persist path
//    and key: a config copied between environments, a Vault migrated): no token of A's — the
//    auto-auth token, a client's token — may be sent to B (the auto-auth token never leaves except
//    towards ITS Vault), and no token of A's gets a HIT (B refuses them: 403).
// 2. A token revoked directly in Vault while vault-extproc was down: after a restart with Vault up
//    its cached access ends as soon as the worker looks it up again (a restart never extends a grant).
// 3. Rollback: an older copy of the store put back (holding the grant of a token since revoked
//    THROUGH Envoy), restarted while Vault is unreachable: what bounds the resurrected grant is
//    the old grant's own end (last confirmation + capability interval + max_stale), never more.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { CLI } from '../../support/paths.js';
import { sleep, waitFor } from '../../support/ports.js';
import { Proc } from '../../support/process.js';
import { showLogsOnFailure, startStack, type Stack } from '../../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy, type AppRoleCreds } from '../../support/vault-setup.js';

const READER = 'path "secret/data/app/*" { capabilities = ["read"] }';
const WORKER = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }`;
const STORE_FILE = 'vault-extproc-cache.mdb';

interface Res { status: number; cache: string | null; body: string }

async function get(url: string, path: string, token?: string): Promise<Res> {
  const res = await fetch(`${url}${path}`, { headers: token ? { 'x-vault-token': token } : {} });
  return { status: res.status, cache: res.headers.get('x-cache'), body: await res.text() };
}

/** An HTTP (and websocket upgrade) forwarder in front of a Vault that records every X-Vault-Token it carries. */
interface RecordingProxy {
  url: string;
  /** token → the paths (method and path, without query) it was sent with. */
  tokens: Map<string, Set<string>>;
  /** Forwards to another Vault from now on (open connections are cut), or refuses every connection (`undefined`: Vault unreachable). */
  retarget(target: string | undefined): void;
  close(): Promise<void>;
}

async function recordingProxy(target: string): Promise<RecordingProxy> {
  const tokens = new Map<string, Set<string>>();
  let upstream: URL | undefined = new URL(target);
  const note = (req: http.IncomingMessage): void => {
    const h = req.headers;
    const path = (req.url ?? '').split('?')[0]!;
    const add = (t: string): void => { tokens.set(t, (tokens.get(t) ?? new Set()).add(`${req.method} ${path}`)); };
    const t = h['x-vault-token'];
    if (typeof t === 'string') add(t);
    const a = h['authorization'];
    if (typeof a === 'string' && a.startsWith('Bearer ')) add(a.slice(7));
  };
  const server = http.createServer((req, res) => {
    if (!upstream) {
      req.socket.destroy();
      return;
    }
    note(req);
    const fwd = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => { res.destroy(); });
    req.pipe(fwd);
  });
  server.on('upgrade', (req, socket) => {
    note(req);
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    retarget: (t) => {
      upstream = t === undefined ? undefined : new URL(t);
      server.closeAllConnections();
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

forEachBackend('adversarial: the persistent cache', function (kind) {
  this.timeout(180_000);
  let vault: Backend;
  let creds: AppRoleCreds;
  const stacks: Stack[] = [];
  const procs: Proc[] = [];
  const closers: Array<() => Promise<void>> = [];
  showLogsOnFailure(() => stacks, () => vault);
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`\n--- ${p.name} (restarted) ---\n${p.text}\n`);
  });

  before(async () => {
    vault = await startBackend(kind);
    await writePolicy(vault, 'reader', READER);
    await writePolicy(vault, 'worker', WORKER);
    creds = await setupAppRole(vault, { role: 'persist-atk', policies: ['worker'], tokenTtl: '1h' });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(stacks.map((s) => s.stop()));
    for (const c of closers) await c();
    await vault.close();
  });
  afterEach(async () => {
    await vault.start();
  });

  /** A persist block over `persistDir` with the key in `keyFile` (both shared between stacks when asked). */
  function persistHcl(persistDir: string, keyFile: string, cacheExtra = ''): string {
    return `cache {
  cache_static_secrets = true
  disable_caching_dynamic_secrets = true
  ${cacheExtra}
  persist "file" {
    path = "${persistDir}"
    key_file = "${keyFile}"
    readiness = "cache"
  }
}
`;
  }

  function newKeyFile(dir: string): string {
    const keyFile = join(dir, 'persist.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    return keyFile;
  }

  /** No log line of any vault-extproc run of this suite holds one of these tokens (booleans: a failure prints none). */
  function expectNoTokenLogged(tokens: string[]): void {
    const texts = [...stacks.map((st) => st.service.text), ...procs.map((p) => p.text)];
    for (const t of tokens) expect(texts.some((x) => x.includes(t)), 'a token in a vault-extproc log').to.equal(false);
  }

  async function readerToken(v: Backend): Promise<string> {
    return (await vaultApi(v, 'POST', 'auth/token/create', { policies: ['reader'], ttl: '1h' })).json.auth.client_token as string;
  }

  async function cachedHit(stack: Stack, path: string, token: string): Promise<void> {
    await waitFor(`a HIT for ${path}`, async () => {
      const r = await get(stack.url, path, token);
      expect(r.status).to.equal(200);
      return r.cache === 'HIT' ? true : undefined;
    }, 10_000, 100);
  }

  /** Kills or stops the stack's vault-extproc, runs `between`, starts it again on the same config; resolves at /healthz. */
  async function restart(stack: Stack, how: 'SIGTERM' | 'SIGKILL', between?: () => Promise<void>): Promise<Proc> {
    if (how === 'SIGKILL') {
      stack.service.signal('SIGKILL');
      await stack.service.exited;
    } else await stack.service.stop();
    await between?.();
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('VAULT_')) delete env[k];
    const proc = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', stack.configPath, '--log-level', 'debug'], env);
    procs.push(proc);
    await waitFor('the restarted vault-extproc healthy', async () => {
      const code = await Promise.race([proc.exited, Promise.resolve('running' as const)]);
      if (code !== 'running') throw new Error(`vault-extproc exited with ${code}:\n${proc.text}`);
      const res = await fetch(`${stack.adminUrl}/healthz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 15_000, 10);
    return proc;
  }

  /** Reads `path` with `token` through Envoy every 100 ms for `ms`; the times (ms since `t0`) of every HIT. */
  async function hitTimes(stack: Stack, path: string, token: string, ms: number, t0: number): Promise<number[]> {
    const hits: number[] = [];
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const r = await get(stack.url, path, token).catch(() => undefined);
      if (r?.cache === 'HIT') hits.push(Date.now() - t0);
      await sleep(100);
    }
    return hits;
  }

  it('a store made against Vault A, loaded by a config pointing at Vault B: no token of A\'s is sent to B, and none gets a HIT (B: 403)', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    const persistDir = join(shared, 'persist');
    const keyFile = newKeyFile(shared);
    await vaultApi(vault, 'POST', 'secret/data/app/moved', { data: { v: 'from-vault-a' } });
    const token = await readerToken(vault);
    const stackA = await startStack({ vault, hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}\n${persistHcl(persistDir, keyFile)}` });
    stacks.push(stackA);
    await cachedHit(stackA, '/v1/secret/data/app/moved', token);
    const autoAuthA = readFileSync(join(stackA.dir, 'token'), 'utf8').trim();
    await sleep(400); // a flush
    await stackA.stop();

    // Vault B: another Vault of the same kind, with its own AppRole for the worker; vault-extproc reaches it through a recorder.
    const vaultB = await startBackend(kind);
    closers.push(() => vaultB.close());
    await writePolicy(vaultB, 'worker', WORKER);
    const credsB = await setupAppRole(vaultB, { role: 'persist-atk', policies: ['worker'], tokenTtl: '1h' });
    const proxy = await recordingProxy(vaultB.serviceUrl);
    closers.unshift(() => proxy.close());
    const stackB = await startStack({
      vault: { ...vaultB, serviceUrl: proxy.url, url: vaultB.url } as Backend,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, credsB, { sink: true })}\n${persistHcl(persistDir, keyFile)}`,
    });
    stacks.push(stackB);
    const truth = await get(vaultB.url, '/v1/secret/data/app/moved', token);
    expect(truth.status, 'Vault B does not know the token').to.equal(403);
    const answers: Res[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(await get(stackB.url, '/v1/secret/data/app/moved', token));
      await sleep(100);
    }
    await sleep(2_000); // the worker's lookups, renewals and checks of what it restored
    const hits = answers.filter((a) => a.cache === 'HIT');
    // The client itself sent its token through Envoy (GET secret/data/app/moved): that is the client's doing.
    // Any other call with it, and any call at all with A's auto-auth token, is vault-extproc's.
    const byUs = [...(proxy.tokens.get(token) ?? [])].filter((p) => p !== 'GET /v1/secret/data/app/moved');
    const autoAuthCalls = [...(proxy.tokens.get(autoAuthA) ?? [])];
    process.stdout.write(`      [${kind}] store of Vault A under Vault B: ${hits.length}/20 HITs for A's token (served '${hits[0] ? JSON.parse(hits[0].body).data?.data?.v : '-'}'); sent to B by vault-extproc: A's auto-auth token on [${autoAuthCalls.join(', ')}], A's client token on [${byUs.join(', ')}]\n`);
    expect(autoAuthCalls, 'vault-extproc sent Vault A\'s auto-auth token to Vault B').to.deep.equal([]);
    expect(byUs, 'vault-extproc sent Vault A\'s client token to Vault B').to.deep.equal([]);
    expect(hits.map((h) => h.status), 'HITs for a token Vault B refuses').to.deep.equal([]);
    expectNoTokenLogged([token, autoAuthA, readFileSync(join(stackB.dir, 'token'), 'utf8').trim()]);
  });

  it('the same address, another Vault behind it, after an OFFLINE start: once Vault B answers, no token of Vault A\'s is sent to it and none gets a HIT', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    const persistDir = join(shared, 'persist');
    const keyFile = newKeyFile(shared);
    await vaultApi(vault, 'POST', 'secret/data/app/same-address', { data: { v: 'from-vault-a' } });
    const token = await readerToken(vault);
    // vault-extproc and Envoy reach "Vault" at one address: a forwarder, first to Vault A.
    const proxy = await recordingProxy(vault.serviceUrl);
    closers.unshift(() => proxy.close());
    const vaultB = await startBackend(kind);
    closers.push(() => vaultB.close());
    await writePolicy(vaultB, 'worker', WORKER);
    const credsB = await setupAppRole(vaultB, { role: 'persist-atk', policies: ['worker'], tokenTtl: '1h' });
    let hclCreds = creds;
    const stack = await startStack({
      vault: { ...vault, serviceUrl: proxy.url } as Backend,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, hclCreds, { sink: true })}\n${persistHcl(persistDir, keyFile)}`,
    });
    stacks.push(stack);
    await cachedHit(stack, '/v1/secret/data/app/same-address', token);
    const autoAuthA = readFileSync(join(stack.dir, 'token'), 'utf8').trim();
    await sleep(400);
    // Stopped; "Vault" unreachable; the address now leads to Vault B (a rebuilt cluster behind the same name).
    hclCreds = credsB;
    const restarted = await restart(stack, 'SIGTERM', async () => {
      writeFileSync(join(stack.dir, 'role_id'), credsB.roleId);
      writeFileSync(join(stack.dir, 'secret_id'), credsB.secretId);
      proxy.retarget(undefined);
    });
    void restarted;
    await sleep(1_000); // offline start done
    proxy.tokens.clear();
    proxy.retarget(vaultB.serviceUrl);
    const t0 = Date.now();
    const truth = await get(vaultB.url, '/v1/secret/data/app/same-address', token);
    expect(truth.status, 'Vault B does not know the token').to.equal(403);
    const hits = await hitTimes(stack, '/v1/secret/data/app/same-address', token, 5_000, t0);
    await sleep(2_000);
    const byUs = [...(proxy.tokens.get(token) ?? [])].filter((p) => p !== 'GET /v1/secret/data/app/same-address');
    const autoAuthCalls = [...(proxy.tokens.get(autoAuthA) ?? [])];
    process.stdout.write(`      [${kind}] offline start, then Vault B at the same address: ${hits.length} HITs for A's token (last ${hits.at(-1) ?? '-'} ms after B answered); sent to B: A's auto-auth token on [${autoAuthCalls.join(', ')}], A's client token on [${byUs.join(', ')}]\n`);
    expect(autoAuthCalls, 'vault-extproc sent Vault A\'s auto-auth token to Vault B').to.deep.equal([]);
    expect(byUs, 'vault-extproc sent Vault A\'s client token to Vault B').to.deep.equal([]);
    expect(hits, 'HITs for a token Vault B refuses, after B answered').to.deep.equal([]);
    expectNoTokenLogged([token, autoAuthA]);
  });

  it('a token revoked directly in Vault while vault-extproc was down (SIGKILL): after the restart with Vault up, its HITs end within 3 s (the worker looks it up again)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    await vaultApi(vault, 'POST', 'secret/data/app/revoked', { data: { v: 'revoked-while-down' } });
    const token = await readerToken(vault);
    const stack = await startStack({ vault, hcl: ({ dir: d }) => `${appRoleAutoAuth(d, creds)}\n${persistHcl(join(dir, 'persist'), newKeyFile(dir))}` });
    stacks.push(stack);
    await cachedHit(stack, '/v1/secret/data/app/revoked', token);
    await sleep(400);
    await restart(stack, 'SIGKILL', () => vault.revokeToken(token));
    const t0 = Date.now();
    expect((await get(vault.url, '/v1/secret/data/app/revoked', token)).status).to.equal(403);
    const hits = await hitTimes(stack, '/v1/secret/data/app/revoked', token, 5_000, t0);
    process.stdout.write(`      [${kind}] revoked while down: ${hits.length} HITs after the restart, the last ${hits.at(-1) ?? '-'} ms after /healthz\n`);
    expect(hits.filter((t) => t > 3_000), 'HITs later than 3 s after the restart').to.deep.equal([]);
    expectNoTokenLogged([token]);
  });

  it('a token that expired while vault-extproc was down gets no HIT after an offline restart, not even a stale one (serve_stale, 1 h interval)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    await vaultApi(vault, 'POST', 'secret/data/app/expiring', { data: { v: 'expiring' } });
    const longLived = await readerToken(vault);
    const stack = await startStack({
      vault,
      hcl: ({ dir: d }) => `${appRoleAutoAuth(d, creds)}\n${persistHcl(join(dir, 'persist'), newKeyFile(dir), 'static_secret_token_capability_refresh_interval = "1h"\n  serve_stale = true\n  serve_stale_max = "1h"')}`,
    });
    stacks.push(stack);
    // Created once the stack runs (a busy machine takes seconds to start one): 15 s to live.
    const token = (await vaultApi(vault, 'POST', 'auth/token/create', { policies: ['reader'], ttl: '15s' })).json.auth.client_token as string;
    await cachedHit(stack, '/v1/secret/data/app/expiring', token);
    await cachedHit(stack, '/v1/secret/data/app/expiring', longLived);
    const expireAt = Date.parse((await vaultApi(vault, 'POST', 'auth/token/lookup', { token })).json.data.expire_time as string);
    await sleep(400);
    await restart(stack, 'SIGKILL', async () => {
      await vault.stop();
      await sleep(Math.max(0, expireAt - Date.now() + 500));
    });
    // The control: a token whose grant is alive is still served offline.
    const control = await get(stack.url, '/v1/secret/data/app/expiring', longLived);
    expect(control.cache, 'the long-lived token is served offline (the store was loaded)').to.equal('HIT');
    const hits = await hitTimes(stack, '/v1/secret/data/app/expiring', token, 3_000, Date.now());
    process.stdout.write(`      [${kind}] expired while down: ${hits.length} HITs (fresh or stale) for the expired token; the live token's read offline: ${control.cache}\n`);
    expect(hits, 'HITs for a token past its expire_time').to.deep.equal([]);
    // Vault itself: the expired token is refused.
    await vault.start();
    expect((await get(vault.url, '/v1/secret/data/app/expiring', token)).status).to.equal(403);
    expectNoTokenLogged([token, longLived]);
  });

  it('a revocation through Envoy survives a crash: revoke-self, then SIGKILL within flush_interval (5 s), restarted with Vault unreachable — the revoked token gets no HIT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    await vaultApi(vault, 'POST', 'secret/data/app/crash-revoke', { data: { v: 'crash-revoke' } });
    const token = await readerToken(vault);
    const stack = await startStack({
      vault,
      hcl: ({ dir: d }) => `${appRoleAutoAuth(d, creds)}\n${persistHcl(join(dir, 'persist'), newKeyFile(dir), 'static_secret_token_capability_refresh_interval = "1h"').replace('readiness = "cache"', 'readiness = "cache"\n    flush_interval = "5s"')}`,
    });
    stacks.push(stack);
    await cachedHit(stack, '/v1/secret/data/app/crash-revoke', token);
    await sleep(5_500); // the grant is on disk
    const rev = await fetch(`${stack.url}/v1/auth/token/revoke-self`, { method: 'POST', headers: { 'x-vault-token': token } });
    expect(rev.status).to.equal(204);
    expect((await get(stack.url, '/v1/secret/data/app/crash-revoke', token)).cache, 'revoked through Envoy: no HIT at once').to.not.equal('HIT');
    await restart(stack, 'SIGKILL', () => vault.stop());
    const hits = await hitTimes(stack, '/v1/secret/data/app/crash-revoke', token, 2_000, Date.now());
    process.stdout.write(`      [${kind}] revoked through Envoy, SIGKILL within flush_interval, offline restart: ${hits.length} HITs for the revoked token\n`);
    expect(hits, 'HITs for a token revoked through Envoy before the crash').to.deep.equal([]);
    expectNoTokenLogged([token]);
  });

  it('rollback: an older copy of the store (a grant since revoked through Envoy) restarted with Vault unreachable is bounded by that grant\'s own end (capability interval 4 s, max_stale 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-persist-atk-'));
    const persistDir = join(dir, 'persist');
    await vaultApi(vault, 'POST', 'secret/data/app/rollback', { data: { v: 'rolled-back' } });
    const token = await readerToken(vault);
    const stack = await startStack({
      vault,
      hcl: ({ dir: d }) => `${appRoleAutoAuth(d, creds)}\n${persistHcl(persistDir, newKeyFile(dir), 'static_secret_token_capability_refresh_interval = "4s"\n  static_secret_max_stale = "0s"')}`,
    });
    stacks.push(stack);
    await cachedHit(stack, '/v1/secret/data/app/rollback', token);
    // A grant lasts 4 s after Vault's last confirmation: the copy is made right after a confirmed HIT,
    // so whatever it holds ends at most 4 s after this moment.
    await sleep(250);
    let copiedAt = 0;
    // A clean copy needs the writer gone: stop, copy, start again.
    const second = await restart(stack, 'SIGTERM', async () => {
      copiedAt = Date.now();
      copyFileSync(join(persistDir, STORE_FILE), join(dir, 'old.mdb'));
    });
    await waitFor('the restarted service ready', async () => ((await fetch(`${stack.adminUrl}/readyz`)).status === 200 ? true : undefined), 15_000, 50);
    // Revoked through Envoy: cached access ends at once.
    const rev = await fetch(`${stack.url}/v1/auth/token/revoke-self`, { method: 'POST', headers: { 'x-vault-token': token } });
    expect(rev.status).to.equal(204);
    const after = await get(stack.url, '/v1/secret/data/app/rollback', token);
    expect(after.cache).to.not.equal('HIT');
    // The attacker (or a backup restore) puts the old store back; Vault is unreachable at the restart.
    await sleep(300);
    await restart({ ...stack, service: second }, 'SIGTERM', async () => {
      copyFileSync(join(dir, 'old.mdb'), join(persistDir, STORE_FILE));
      await vault.stop();
    });
    const t0 = Date.now();
    const hits = await hitTimes(stack, '/v1/secret/data/app/rollback', token, 6_000, t0);
    const lateMs = hits.map((t) => t0 + t - copiedAt);
    process.stdout.write(`      [${kind}] rollback, Vault unreachable: ${hits.length} HITs for the revoked token, the last ${lateMs.at(-1) ?? '-'} ms after the old grant was copied (bound 4000 ms + restart)\n`);
    // The bound: the copied grant's end (≤ copy time + 4 s interval + 0 max_stale), never later; 500 ms for timing.
    expect(lateMs.filter((ms) => ms > 4_500), 'HITs past the rolled-back grant\'s own end').to.deep.equal([]);
    await vault.start();
    await sleep(1_000);
    const back = await get(stack.url, '/v1/secret/data/app/rollback', token);
    expect([back.status, back.cache]).to.deep.equal([403, null]);
    expectNoTokenLogged([token]);
  });
});
