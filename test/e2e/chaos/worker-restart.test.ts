// The worker cannot die silently (issue 17, item 4), through real Envoy on both backends: the
// worker thread is crashed with the test hook (VAULT_EXTPROC_TEST_HOOKS=1: its message handler
// throws, uncaught), /readyz says not ready until the restarted worker holds its auto-auth token
// again, cached leases are renewed by the new worker, a token whose raw value this side does not
// hold loses its cached access (a MISS, then it proves access again), and a worker that keeps
// crashing (5 within 5 minutes) ends the process with code 70. A hung worker (POST /test/worker/hang:
// its event loop spins) answers no heartbeat and is terminated after 30 s, then restarted.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachBackend, type Backend } from '../../support/backend.js';
import { waitFor } from '../../support/ports.js';
import { showLogsOnFailure, untilCacheWatching, type Stack } from '../../support/stack.js';
import { appRoleAutoAuth, setupAppRole, vaultApi, writePolicy } from '../../support/vault-setup.js';
import {
  BACKOFF_MAX_MS, Differential, crashWorker, hookedStack, metric, readyz, recovered, renewalsSeen, send, startDatabaseBackend,
  untilReady, type DatabaseBackend,
} from './support.js';

const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "auth/token/create" { capabilities = ["update"] }`;
const READER_POLICY = 'path "secret/data/*" { capabilities = ["read"] }';

forEachBackend('e2e chaos: the worker thread crashes and is restarted', function (kind) {
  this.timeout(90_000);
  let db: DatabaseBackend | undefined;
  let backend: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => db);

  async function stackFor(role: string): Promise<Stack> {
    const creds = await setupAppRole(backend, { role, policies: ['chaos-worker'] });
    const stack = await hookedStack({
      vault: backend,
      hcl: ({ dir }) => `${appRoleAutoAuth(dir, creds, { sink: true })}
api_proxy { use_auto_auth_token = true }
cache {
  cache_static_secrets = true
}
`,
    });
    stacks.push(stack);
    await untilCacheWatching(stack, kind);
    return stack;
  }

  before(async () => {
    db = await startDatabaseBackend(kind);
    backend = db.backend;
    await writePolicy(backend, 'chaos-worker', WORKER_POLICY);
    await writePolicy(backend, 'chaos-reader', READER_POLICY);
    await db.role('app', { default_ttl: '1h', max_ttl: '24h' });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await db?.close();
  });

  describe('one crash', () => {
    let stack: Stack;
    let plain: string;
    let child: string;
    let leaseId: string;
    const diff = (): Differential => new Differential(backend);
    let d: Differential;
    let crashedAtMs: number;
    let readyAtMs: number;
    let sinkBefore: string;

    before(async () => {
      stack = await stackFor('chaos-crash-once');
      d = diff();
      await vaultApi(backend, 'POST', 'secret/data/chaos/plain', { data: { v: 'p' } });
      await vaultApi(backend, 'POST', 'secret/data/chaos/auto', { data: { v: 'a' } });
      plain = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['chaos-reader'], ttl: '1h' })).json.auth.client_token as string;
      // Cached before the crash: a KV read by a token made directly in Vault (this side never holds
      // it raw), a KV read with the auto-auth token (no token: api_proxy adds it), a child token made
      // through Envoy and a database lease, both in the lease cache.
      for (const [path, token] of [['/v1/secret/data/chaos/plain', plain], ['/v1/secret/data/chaos/auto', undefined]] as const) {
        await waitFor(`a HIT on ${path}`, async () => ((await d.read(stack, path, token)).cache === 'HIT' ? true : undefined), 5_000, 25);
      }
      const created = await send(stack.url, 'POST', '/v1/auth/token/create', [['content-type', 'application/json']], JSON.stringify({ ttl: '1h', meta: { chaos: 'child' } }));
      expect(created.status).to.equal(200);
      child = created.json.auth.client_token as string;
      const lease = await send(stack.url, 'GET', '/v1/database/creds/app');
      expect([lease.status, lease.cache]).to.deep.equal([200, 'MISS']);
      leaseId = lease.json.lease_id as string;
      expect((await send(stack.url, 'GET', '/v1/database/creds/app')).cache).to.equal('HIT');
      sinkBefore = readFileSync(join(stack.dir, 'token'), 'utf8');

      backend.clearRequests();
      expect((await readyz(stack)).status).to.equal(200);
      expect(await metric(stack, 'vault_extproc_worker_restarts_total')).to.equal(0);
      crashedAtMs = Date.now();
      await crashWorker(stack);
    });

    it('/readyz says 503 with the reason from the crash until the new worker holds its token, then 200; the restart is counted and logged without secrets', async () => {
      const down = await waitFor('/readyz 503', async () => {
        const r = await readyz(stack);
        return r.status === 503 ? r : undefined;
      }, 5_000, 10);
      expect(down.reasons).to.deep.equal(['the worker thread crashed and is not back yet']);
      readyAtMs = await untilReady(stack, 2 * BACKOFF_MAX_MS);
      recovered(kind, 'worker crash (test hook) → /readyz 200', readyAtMs - crashedAtMs);
      // The documented bound for one crash: its backoff (1 s) and the new worker's start, well inside 2 × the backoff maximum.
      expect(readyAtMs - crashedAtMs).to.be.below(2 * BACKOFF_MAX_MS);
      expect(await metric(stack, 'vault_extproc_worker_restarts_total')).to.equal(1);
      expect(await metric(stack, 'vault_extproc_worker_up')).to.equal(1);
      const crashLine = stack.service.jsonLines.find((l) => l['msg'] === 'the worker thread crashed; restarting it (not ready until it is back)');
      expect(crashLine, 'the crash log line').to.not.equal(undefined);
      expect(crashLine).to.include({ exitCode: 1, crashesInWindow: 1, restartInMs: 1_000, leasesTracked: 2, tokensKept: 1, tokensDropped: 1 });
      const text = stack.service.text;
      // Booleans: a failure never prints a token.
      for (const secret of [plain, child, sinkBefore.trim()]) expect(text.includes(secret), 'a token in the log').to.equal(false);
    });

    it('the new worker took the auto-auth token over: no new login, the sink unchanged', async () => {
      expect(backend.requestsTo('/v1/auth/approle/login'), 'approle logins after the crash').to.have.length(0);
      expect(readFileSync(join(stack.dir, 'token'), 'utf8') === sinkBefore, 'the sink holds the same token').to.equal(true);
      // The worker thread's log reaches the service's output asynchronously (pino's thread stream).
      await waitFor('the take-over log line', () => (stack.service.jsonLines.some((l) => l['msg'] === 'took over the previous worker\'s auto-auth token') ? true : undefined), 5_000, 50);
    });

    it('the child token and the database lease cached before the crash are renewed by the new worker, and still served from the cache', async () => {
      await waitFor('renew-self by the cached child token', async () => ((await renewalsSeen(backend, { token: child })) > 0 ? true : undefined), 10_000, 100);
      await waitFor('sys/leases/renew of the cached lease', async () => ((await renewalsSeen(backend, { leaseId })) > 0 ? true : undefined), 10_000, 100);
      const again = await send(stack.url, 'GET', '/v1/database/creds/app');
      expect([again.status, again.cache, again.json.lease_id === leaseId]).to.deep.equal([200, 'HIT', true]);
    });

    it('a token this side never held raw is a MISS after the crash (its access could not be re-checked), then proves access again; the auto-auth token\'s read is still a HIT', async () => {
      const plainRead = await d.read(stack, '/v1/secret/data/chaos/plain', plain, 'plain token');
      expect([plainRead.status, plainRead.cache]).to.deep.equal([200, 'MISS']);
      await waitFor('a HIT again for the plain token', async () => ((await d.read(stack, '/v1/secret/data/chaos/plain', plain, 'plain token')).cache === 'HIT' ? true : undefined), 5_000, 25);
      const autoRead = await d.read(stack, '/v1/secret/data/chaos/auto', undefined, 'auto-auth token');
      expect([autoRead.status, autoRead.cache]).to.deep.equal([200, 'HIT']);
      d.check();
      expect(d.hits).to.be.at.least(4);
    });

    it('a hung worker (its event loop spinning) answers no heartbeat: terminated after 30 s, restarted, ready again', async () => {
      // The crash of this block's before() is over (restarted, ready) whichever tests ran.
      await waitFor('the first restart', async () => ((await metric(stack, 'vault_extproc_worker_restarts_total')) >= 1 ? true : undefined), 2 * BACKOFF_MAX_MS, 50);
      await untilReady(stack, 2 * BACKOFF_MAX_MS);
      const hungAt = Date.now();
      const res = await fetch(`${stack.adminUrl}/test/worker/hang`, { method: 'POST' });
      expect(res.status).to.equal(202);
      const down = await waitFor('/readyz 503', async () => ((await readyz(stack)).status === 503 ? Date.now() : undefined), 45_000, 100);
      // Found by the heartbeat: a ping every 5 s, 30 s without a pong.
      expect(down - hungAt).to.be.at.least(25_000);
      const line = stack.service.jsonLines.filter((l) => l['msg'] === 'the worker thread crashed; restarting it (not ready until it is back)').pop();
      expect(line).to.include({ hung: true, crashesInWindow: 2 });
      const readyAt = await untilReady(stack, 2 * BACKOFF_MAX_MS);
      recovered(kind, 'worker hung (event loop spinning) → found by the heartbeat, restarted, /readyz 200', readyAt - hungAt);
      expect(await metric(stack, 'vault_extproc_worker_restarts_total')).to.equal(2);
      const autoRead = await d.read(stack, '/v1/secret/data/chaos/auto', undefined, 'auto-auth token after the hang');
      expect(autoRead.status).to.equal(200);
      d.check();
    });
  });

  it('a worker that keeps crashing (5 crashes within 5 minutes) ends the process with code 70 and says why', async () => {
    const stack = await stackFor('chaos-crash-loop');
    const started = Date.now();
    for (let i = 1; i <= 5; i++) {
      await untilReady(stack, 2 * BACKOFF_MAX_MS);
      await crashWorker(stack);
      if (i < 5) await waitFor('/readyz 503', async () => ((await readyz(stack)).status === 503 ? true : undefined), 5_000, 10);
    }
    const code = await Promise.race([stack.service.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 15_000))]);
    expect(code).to.equal(70);
    const fatal = stack.service.jsonLines.find((l) => l['msg'] === 'the worker thread crashed 5 times within 300 s; exiting (code 70)');
    expect(fatal, 'the give-up log line').to.not.equal(undefined);
    expect(stack.service.jsonLines.filter((l) => l['msg'] === 'worker thread restarted')).to.have.length(4);
    recovered(kind, 'crash loop → exit 70 (4 restarts: 1 + 2 + 4 + 8 s of backoff)', Date.now() - started);
  });
});
