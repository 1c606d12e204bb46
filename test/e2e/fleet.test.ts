// Fleet mode end to end (issue 16, "Must show"): a real redis-server, three vault-extproc processes
// with a `fleet { redis_url, encryption_key_file }` block, each behind a real Envoy of its own
// (test/support/fleet-harness.ts says why one Envoy per replica: a test chooses the replica), on
// both backends. Every test asserts what a client sees through Envoy (0: one login for the fleet,
// and concurrent misses on three replicas measured):
//   1. a secret read through replica 1 (MISS) is a HIT through replicas 3 and 2; Vault saw one read;
//   2. a revocation (revoke-self) through replica 2 is refused on 1 and 3 within 1 s, never served again;
//   3. a cache-clear (all; request_path) through replica 2 holds on 1 and 3 within 1 s;
//   KV. a write made directly in Vault reaches every replica's cache (the owner's subscription), the owner's too;
//   4. a flipped byte and two swapped values in Redis are never served (MISS with Vault's answer), counted;
//   4b. Redis hung past max_stale_without_redis, then resumed with its data: every replica checks its
//      tokens again before its L1 answers (a token revoked in Vault meanwhile is refused at once);
//   5. Redis killed mid-traffic, then restarted empty: no answer Vault would refuse, valid tokens
//      served throughout, /readyz degraded while Redis is down, the shared cache works again after;
//   6. kill -9 of the owner: another replica owns within 2 × owner_lease_ttl, the survivors keep
//      serving, the auto-auth token keeps working past its TTL (renewed or replaced by the new owner),
//      a lease tracked by the dead owner is renewed by the new one, and the event subscription comes
//      back (writes made directly in Vault during the take-over and after it reach the survivors);
//   7. the leak dump: every key and value in Redis (strings, streams, any type) holds no token,
//      accessor, token hash, secret value or plain path the suite used.
// Secrets and tokens are distinct per test. Figures (latencies, counts) are printed for the README.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { forEachBackend, type Backend, type BackendKind } from '../support/backend.js';
import { vaultReads, type Answer, type FleetHarness, type FleetReplica } from '../support/fleet-harness.js';
import { useFleetSuite } from '../support/fleet-suite.js';
import { sleep, waitFor } from '../support/ports.js';
import type { RedisServer } from '../support/redis.js';
import { vaultApi } from '../support/vault-setup.js';

/** owner_lease_ttl (the config's minimum): another replica owns within two of it after a kill -9. */
const OWNER_LEASE_TTL_S = 5;
/** max_stale_without_redis: a replica unheard-from Redis this long stops answering from its L1. */
const MAX_STALE_S = 3;
/** The auto-auth token's TTL (AppRole token_ttl): it dies this long after its last renewal. */
const AUTO_AUTH_TTL_S = 20;
/** The issue's bound for a revocation or cache-clear through one replica to hold on every replica. */
const FLEET_BOUND_MS = 1_000;
const PREFIX = 'fleet-e2e';
const APP_POLICY = `path "secret/data/${PREFIX}/*" { capabilities = ["read"] }`;
/**
 * Vault Proxy's documented policy for the auto-auth token (events), reads for refetches and
 * use_auto_auth_token, and child tokens (a lease the fleet tracks and renews).
 */
const WORKER_POLICY = `path "sys/events/subscribe/kv*" { capabilities = ["read"] }
path "*" { capabilities = ["read", "list", "subscribe"] subscribe_event_types = ["kv*"] }
path "auth/token/create" { capabilities = ["create", "update"] }`;
const CACHE_HCL = `cache {
  cache_static_secrets = true
  static_secret_token_capability_refresh_interval = "1h"
  # Only KV events (the owner's subscription) can change a cached secret within a test.
  static_secret_refresh_interval = "1h"
}
api_proxy {
  use_auto_auth_token = true
}`;

interface Needle { label: string; value: string }

forEachBackend('e2e: fleet mode — three replicas, real Redis, real Envoy', function (kind: BackendKind) {
  this.timeout(120_000);
  let backend: Backend;
  let redis: RedisServer;
  let fleet: FleetHarness;
  let r1: FleetReplica;
  let r2: FleetReplica;
  let r3: FleetReplica;
  /** What must never appear in Redis: every token, accessor, secret value and path the suite used. */
  const needles: Needle[] = [];
  /** Redis dumps taken during the suite (the one before Redis loses its data, and the last). */
  const dumps: Array<{ when: string; text: string; keys: string[] }> = [];
  const tag = `[${kind}]`;

  const api = (name: string): string => `/v1/secret/data/${PREFIX}/${name}`;

  function remember(label: string, value: string): void {
    if (!needles.some((n) => n.value === value)) needles.push({ label, value });
  }

  /** A token for reading the suite's secrets (its accessor and hashes are needles too). */
  async function newToken(label: string): Promise<string> {
    const auth = (await vaultApi(backend, 'POST', 'auth/token/create', { policies: ['fleet-e2e-app'], ttl: '1h' })).json.auth;
    rememberToken(`client token ${label}`, auth.client_token as string, auth.accessor as string);
    return auth.client_token as string;
  }

  function rememberToken(label: string, token: string, accessor?: string): void {
    remember(label, token);
    remember(`${label}: SHA-256 (base64url)`, createHash('sha256').update(token).digest('base64url'));
    remember(`${label}: SHA-256 (hex)`, createHash('sha256').update(token).digest('hex'));
    if (accessor) remember(`${label}: accessor`, accessor);
  }

  /** Every auto-auth token a replica's sink holds now (the owner writes its login there). */
  async function rememberAutoAuthTokens(): Promise<void> {
    for (const r of fleet.replicas) {
      const t = r.sinkToken();
      if (t === undefined || needles.some((n) => n.value === t)) continue;
      const looked = await fetch(`${backend.url}/v1/auth/token/lookup`, {
        method: 'POST', headers: { 'x-vault-token': backend.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ token: t }),
      });
      const accessor = looked.status === 200 ? ((await looked.json()) as { data: { accessor: string } }).data.accessor : undefined;
      rememberToken(`auto-auth token from ${r.name}'s sink`, t, accessor);
    }
  }

  /** Writes a KV v2 secret directly in Vault; its value and path are needles. */
  async function putSecret(name: string, value: string = `${name}-value-${randomBytes(8).toString('hex')}`): Promise<{ v: string }> {
    await vaultApi(backend, 'POST', `secret/data/${PREFIX}/${name}`, { data: { v: value } });
    remember(`secret value of ${name}`, value);
    remember(`path of ${name}`, `secret/data/${PREFIX}/${name}`);
    remember(`path of ${name} (mount-relative)`, `${PREFIX}/${name}`);
    return { v: value };
  }

  /**
   * Lets the KV events of the writes just made reach every replica before a test primes caches:
   * an event that arrives after a replica cached the secret may make it read the secret again (a
   * MISS the test did not mean). Every fleet change is bounded by FLEET_BOUND_MS.
   */
  async function settleWrites(): Promise<void> {
    await sleep(FLEET_BOUND_MS);
  }

  function dataOf(a: Answer): unknown {
    return JSON.parse(a.body).data.data;
  }

  /** What Vault itself answers for this token and secret (status). */
  async function vaultStatus(path: string, token: string): Promise<number> {
    const res = await fetch(`${backend.url}${path}`, { headers: { 'x-vault-token': token } });
    await res.text();
    return res.status;
  }

  /**
   * Reads a secret through replica 1 twice: the first goes to Vault (MISS), the second is replica 1's
   * own HIT (its worker has confirmed the token: a grant). Then waits the fleet's bound (1 s) for
   * the grant and the record to reach every replica: from then on any replica may serve it from L2.
   */
  async function readThroughReplica1(name: string, token: string): Promise<Answer> {
    const first = await r1.get(api(name), token);
    expect([first.status, first.cache], `${name} through replica 1`).to.deep.equal([200, 'MISS']);
    const again = await r1.get(api(name), token);
    expect([again.status, again.cache], `${name} again through replica 1`).to.deep.equal([200, 'HIT']);
    await sleep(FLEET_BOUND_MS);
    return first;
  }

  /** Every key in Redis and every value of it, whatever its type, as one text (bytes decoded as UTF-8: ASCII survives). */
  async function dumpRedis(when: string): Promise<{ when: string; text: string; keys: string[] }> {
    const keys = (await redis.cli('--scan')).split('\n').filter((k) => k !== '');
    const parts: string[] = [];
    for (const key of keys) {
      const type = (await redis.cli('TYPE', key)).trim();
      let value: string;
      switch (type) {
        case 'string': value = await redis.cli('GET', key); break;
        case 'stream': value = await redis.cli('XRANGE', key, '-', '+'); break;
        case 'hash': value = await redis.cli('HGETALL', key); break;
        case 'list': value = await redis.cli('LRANGE', key, '0', '-1'); break;
        case 'set': value = await redis.cli('SMEMBERS', key); break;
        case 'zset': value = await redis.cli('ZRANGE', key, '0', '-1', 'WITHSCORES'); break;
        case 'none': value = ''; break; // expired between the scan and now
        default: throw new Error(`a Redis key of an unexpected type: ${type}`);
      }
      parts.push(`${key}\t${type}\t${value}`);
    }
    const dump = { when, text: parts.join('\n'), keys };
    dumps.push(dump);
    return dump;
  }

  const suite = useFleetSuite(kind, {
    policies: { 'fleet-e2e-app': APP_POLICY, 'fleet-e2e-worker': WORKER_POLICY },
    role: { name: 'fleet-e2e', policies: ['fleet-e2e-worker'], tokenTtl: `${AUTO_AUTH_TTL_S}s`, tokenMaxTtl: '1h' },
    hcl: CACHE_HCL,
    fleetHcl: `owner_lease_ttl = "${OWNER_LEASE_TTL_S}s"\n  max_stale_without_redis = "${MAX_STALE_S}s"`,
  });

  before(async () => {
    ({ backend, redis, fleet } = suite);
    remember('AppRole secret_id', suite.creds.secretId);
    remember('AppRole role_id', suite.creds.roleId);
    [r1, r2, r3] = fleet.replicas as [FleetReplica, FleetReplica, FleetReplica];
    const owner = await fleet.exactlyOneOwner(fleet.replicas, 3 * OWNER_LEASE_TTL_S * 1000);
    // The owner holds the KV event subscription: until it does, a write would not reach the caches.
    await waitFor(`${owner.name} subscribed to KV events`, () => (owner.proc!.jsonLines.some((l) => l['msg'] === 'subscribed to KV events') ? true : undefined), 20_000);
    await rememberAutoAuthTokens();
  });

  it('one replica logs in for the fleet: since the three started, Vault saw one AppRole login, and every replica uses its token', async () => {
    // Nothing cleared the request log since the backend started: it holds every replica's start.
    const logins = backend.requests.filter((r) => r.path === '/v1/auth/approle/login');
    const subscribes = backend.requests.filter((r) => r.path.startsWith('/v1/sys/events/subscribe/'));
    console.log(`      ${tag} since start: ${logins.length} AppRole login(s), ${subscribes.length} event subscription request(s) in Vault's log`);
    expect(logins.length, 'AppRole logins by the fleet').to.equal(1);
    // Every replica answers a use_auto_auth_token request with that one token (Vault accepts it: 200).
    await putSecret('auto-auth-one');
    backend.clearRequests();
    for (const r of fleet.replicas) expect((await r.get(api('auto-auth-one'))).status, `an auto-auth request through ${r.name}`).to.equal(200);
    const seen = new Set(backend.requests.filter((q) => q.path === api('auto-auth-one')).map((q) => q.token));
    expect(seen.size, 'distinct tokens the replicas sent for use_auto_auth_token').to.equal(1);
  });

  it('concurrent identical misses on the three replicas: every one answers Vault\'s value (the Vault reads they make are measured)', async () => {
    const secret = await putSecret('concurrent');
    const token = await newToken('concurrent');
    await settleWrites();
    backend.clearRequests();
    const answers = await Promise.all(fleet.replicas.map((r) => r.get(api('concurrent'), token)));
    for (const a of answers) {
      expect(a.status).to.equal(200);
      expect(dataOf(a)).to.deep.equal(secret);
    }
    const reads = await vaultReads(backend, api('concurrent'), token);
    console.log(`      ${tag} 3 concurrent identical misses (one per replica): ${reads} Vault read(s); X-Cache ${answers.map((a) => a.cache).join('/')}`);
    expect(reads).to.be.within(1, 3);
  });

  it('a secret read through replica 1 (MISS) is a HIT through replica 3 and replica 2, for the same token; Vault saw one read', async () => {
    const secret = await putSecret('shared');
    await settleWrites();
    const token = await newToken('shared');
    backend.clearRequests();
    const first = await readThroughReplica1('shared', token);
    const via3 = await r3.get(api('shared'), token);
    expect([via3.status, via3.cache], 'through replica 3').to.deep.equal([200, 'HIT']);
    expect(dataOf(via3)).to.deep.equal(secret);
    const via2 = await r2.get(api('shared'), token);
    expect([via2.status, via2.cache], 'through replica 2').to.deep.equal([200, 'HIT']);
    expect(dataOf(via2)).to.deep.equal(secret);
    expect(await vaultReads(backend, api('shared'), token), 'reads of the secret with the token that reached Vault').to.equal(1);
    // Another token that never read it is not served from the shared cache: its proof is its own.
    const other = await newToken('shared-other');
    expect((await r3.get(api('shared'), other)).cache).to.equal('MISS');
    console.log(`      ${tag} MISS via replica 1 (${first.at - first.sent} ms), HIT via 3 (${via3.at - via3.sent} ms) and 2 (${via2.at - via2.sent} ms); Vault reads with the token: 1; another token (no proof): MISS`);
  });

  it('a token revoked through replica 2 (revoke-self) is refused (403) through replicas 1 and 3 within 1 s, and never served again there', async () => {
    await putSecret('revoke');
    await settleWrites();
    const doomed = await newToken('revoked');
    const kept = await newToken('revoke-kept');
    // Both tokens' access is in replica 1's and replica 3's L1 (replica 3's from L2).
    for (const t of [doomed, kept]) {
      await readThroughReplica1('revoke', t);
      for (const r of [r3, r1, r3]) expect((await r.get(api('revoke'), t)).cache, `${r.name} primed`).to.equal('HIT');
    }
    const revoked = await r2.request('POST', '/v1/auth/token/revoke-self', { token: doomed });
    expect(revoked.status).to.equal(204);
    // Polled at once: the first answers may come before the revocation reached replicas 1 and 3.
    const polls = await Promise.all([r1, r3].map((r) => r.pollUntil(api('revoke'), doomed, (a) => a.status === 403, 5_000)));
    expect(await vaultStatus(api('revoke'), doomed), 'what Vault answers the revoked token').to.equal(403);
    const figures: string[] = [];
    for (const [i, r] of [r1, r3].entries()) {
      const answers = polls[i]!;
      const refusal = answers.find((a) => a.status === 403);
      expect(refusal, `${r.name} refused the revoked token within 5 s`).not.to.equal(undefined);
      const servedAfter = answers.filter((a) => a.status === 200);
      const lastServed = servedAfter.length ? `, the last sent ${servedAfter[servedAfter.length - 1]!.sent - revoked.at} ms after it` : '';
      figures.push(`${r.name}: first 403 ${refusal!.at - revoked.at} ms after the revocation answered (${servedAfter.length} served before it${lastServed})`);
      expect(refusal!.at - revoked.at, `${r.name}: first refusal after the revocation answered (ms)`).to.be.below(FLEET_BOUND_MS);
      // Anything still served was served within the bound.
      expect(servedAfter.filter((a) => a.sent - revoked.at >= FLEET_BOUND_MS), `${r.name}: served after the bound`).to.deep.equal([]);
    }
    // Never again: a few more reads on each replica (and replica 2) are 403, never a HIT.
    for (const r of [r1, r2, r3, r1, r3]) {
      const a = await r.get(api('revoke'), doomed);
      expect([a.status, a.cache], r.name).to.deep.equal([403, null]);
    }
    // The revocation is the token's only: the other token keeps its access everywhere. A revoke-self
    // also revokes the token's children, which no replica can name, so every token's cached access
    // waits for a confirmation begun after it (the worker's recheck, asynchronous): until then the
    // other token's reads go to Vault (MISS, still 200), then they are HITs again.
    const keptFigures: string[] = [];
    for (const r of [r1, r3]) {
      const answers = await r.pollUntil(api('revoke'), kept, (a) => a.cache === 'HIT', 5_000);
      expect(answers.map((a) => a.status).filter((s) => s !== 200), `the other token via ${r.name}: refusals`).to.deep.equal([]);
      expect(answers[answers.length - 1]!.cache, `the other token via ${r.name}: a HIT again within 5 s`).to.equal('HIT');
      keptFigures.push(`${r.name} ${answers.length - 1} MISS before the HIT`);
    }
    console.log(`      ${tag} revocation through replica 2: ${figures.join('; ')}; the other token: ${keptFigures.join(', ')}`);
  });

  it('a cache-clear through replica 2 ({"type":"all"}, then {"type":"request_path"}) holds on replicas 1 and 3 within 1 s: the next read there is a MISS', async () => {
    const token = await newToken('clear');
    const figures: string[] = [];

    /** Primes `secrets[i]` into replica i's L1 (1 and 3), clears through 2, polls each until MISS. */
    async function clearAndPoll(what: string, body: unknown, secrets: [string, string], untouched?: string): Promise<void> {
      const values = [];
      for (const s of [...secrets, ...(untouched ? [untouched] : [])]) values.push(await putSecret(s));
      await settleWrites();
      for (const [i, r] of [r1, r3].entries()) {
        expect((await r.get(api(secrets[i]!), token)).status).to.equal(200);
        expect((await r.get(api(secrets[i]!), token)).cache, `${secrets[i]} primed on ${r.name}`).to.equal('HIT');
        if (untouched) {
          expect((await r.get(api(untouched), token)).status).to.equal(200);
          expect((await r.get(api(untouched), token)).cache, `${untouched} primed on ${r.name}`).to.equal('HIT');
        }
      }
      const cleared = await r2.request('POST', '/agent/v1/cache-clear', { body });
      expect(cleared.status, `cache-clear ${what}`).to.equal(200);
      backend.clearRequests();
      // Replica 1 polls the first secret, replica 3 the second: a MISS on one refills only its own.
      const polls = await Promise.all([r1, r3].map((r, i) => r.pollUntil(api(secrets[i]!), token, (a) => a.cache === 'MISS', 5_000)));
      for (const [i, r] of [r1, r3].entries()) {
        const answers = polls[i]!;
        const miss = answers.find((a) => a.cache === 'MISS');
        expect(miss, `${r.name}: a MISS for ${secrets[i]} within 5 s of the clear (${what})`).not.to.equal(undefined);
        expect(miss!.status).to.equal(200);
        expect(dataOf(miss!)).to.deep.equal(values[i]);
        const hitsBefore = answers.filter((a) => a.cache === 'HIT');
        const lastHit = hitsBefore.length ? `, the last sent ${hitsBefore[hitsBefore.length - 1]!.sent - cleared.at} ms after it` : '';
        figures.push(`${what} on ${r.name}: MISS ${miss!.at - cleared.at} ms after the clear answered (${hitsBefore.length} HIT before${lastHit})`);
        expect(miss!.at - cleared.at, `${r.name}: the MISS after the clear (${what}), ms`).to.be.below(FLEET_BOUND_MS);
        expect(hitsBefore.filter((a) => a.sent - cleared.at >= FLEET_BOUND_MS), `${r.name}: HITs past the bound`).to.deep.equal([]);
        // The MISS went to Vault.
        expect(await vaultReads(backend, api(secrets[i]!), token), `${secrets[i]} read from Vault`).to.be.at.least(1);
      }
      if (untouched) {
        for (const r of [r1, r3]) expect((await r.get(api(untouched), token)).cache, `${untouched} (outside the prefix) on ${r.name}`).to.equal('HIT');
      }
    }

    await clearAndPoll('all', { type: 'all' }, ['clear-all-1', 'clear-all-3']);
    await clearAndPoll('request_path', { type: 'request_path', value: `/v1/secret/data/${PREFIX}/clear-rp/` }, ['clear-rp/one', 'clear-rp/three'], 'clear-kept');
    console.log(`      ${tag} ${figures.join('; ')}`);
  });

  it('a write made directly in Vault reaches every replica\'s cache, the owner\'s included (the owner\'s KV event subscription): each serves the new value, from its cache', async () => {
    const token = await newToken('kv-event');
    const old = await putSecret('kv-event');
    await settleWrites();
    const owner = await fleet.exactlyOneOwner(fleet.replicas, 3 * OWNER_LEASE_TTL_S * 1000);
    for (const r of fleet.replicas) {
      expect((await r.get(api('kv-event'), token)).status).to.equal(200);
      const h = await r.get(api('kv-event'), token);
      expect([h.cache, dataOf(h)], `primed on ${r.name}`).to.deep.equal(['HIT', old]);
    }
    const renewed = { v: `kv-event-new-${randomBytes(8).toString('hex')}` };
    remember('secret value of kv-event (new)', renewed.v);
    const writtenAt = Date.now();
    await vaultApi(backend, 'POST', `secret/data/${PREFIX}/kv-event`, { data: renewed });
    const seen = await Promise.all(fleet.replicas.map(async (r) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const a = await r.get(api('kv-event'), token);
        if (a.status === 200 && (dataOf(a) as { v: string }).v === renewed.v) return a.at - writtenAt;
        await sleep(20);
      }
      return undefined;
    }));
    console.log(`      ${tag} a write in Vault served new by ${fleet.replicas.map((r, i) => `${r.name}${r === owner ? ' (owner)' : ''} ${seen[i] === undefined ? 'never (10 s)' : `+${seen[i]} ms`}`).join(', ')}`);
    expect(fleet.replicas.filter((_, i) => seen[i] === undefined).map((r) => `${r.name}${r === owner ? ' (owner)' : ''}`), 'replicas still serving the old value after 10 s').to.deep.equal([]);
    for (const r of fleet.replicas) {
      const a = await r.get(api('kv-event'), token);
      expect([a.cache, dataOf(a)], `${r.name} after the write`).to.deep.equal(['HIT', renewed]);
    }
  });

  it('a flipped byte in one L2 value and two swapped L2 values are never served: the next read on a replica without them in L1 is a MISS with Vault\'s answer; vault_extproc_fleet_refused_total counts them', async () => {
    const token = await newToken('tamper');
    const scan = async (): Promise<Set<string>> => new Set((await redis.cli('--scan', '--pattern', 'vxp:s:*')).split('\n').filter((k) => k !== ''));
    /** Reads `name` through replica 1 (MISS) and returns the one L2 key it added. */
    async function recordedKey(name: string): Promise<string> {
      const before = await scan();
      const a = await r1.get(api(name), token);
      expect([a.status, a.cache]).to.deep.equal([200, 'MISS']);
      return waitFor(`the L2 record of ${name}`, async () => {
        const added = [...await scan()].filter((k) => !before.has(k));
        if (added.length > 1) throw new Error(`more than one new L2 key for ${name}: ${added.length}`);
        return added[0];
      }, 5_000);
    }
    const flipped = await putSecret('tamper-flip');
    const left = await putSecret('tamper-swap-a');
    const right = await putSecret('tamper-swap-b');
    await putSecret('tamper-warm');
    await settleWrites();
    // The token holds a grant on replicas 2 and 3 (each confirmed it), so they look in L2.
    for (const r of [r2, r3]) {
      expect((await r.get(api('tamper-warm'), token)).status).to.equal(200);
      expect((await r.get(api('tamper-warm'), token)).cache, `the token's grant on ${r.name}`).to.equal('HIT');
    }
    const flipKey = await recordedKey('tamper-flip');
    const leftKey = await recordedKey('tamper-swap-a');
    const rightKey = await recordedKey('tamper-swap-b');

    // One byte in the middle of the sealed value, XOR 1, in place (SETRANGE keeps the TTL).
    const flip = `local v = redis.call('GET', KEYS[1]); local i = math.floor(#v / 2)
redis.call('SETRANGE', KEYS[1], i, string.char(bit.bxor(string.byte(v, i + 1), 1))); return #v`;
    expect(Number(await redis.cli('EVAL', flip, '1', flipKey))).to.be.greaterThan(32);
    // Each value under the other's name, each name keeping its own remaining TTL.
    const swap = `local a = redis.call('GET', KEYS[1]); local b = redis.call('GET', KEYS[2])
local ta = redis.call('PTTL', KEYS[1]); local tb = redis.call('PTTL', KEYS[2])
redis.call('SET', KEYS[1], b, 'PX', ta); redis.call('SET', KEYS[2], a, 'PX', tb); return {ta, tb}`;
    const ttls = (await redis.cli('EVAL', swap, '2', leftKey, rightKey)).trim().split('\n').map(Number);
    expect(ttls.every((t) => t > 0), 'both swapped records kept a TTL').to.equal(true);

    const refused = async (r: FleetReplica): Promise<number> => (await r.metric('vault_extproc_fleet_refused_total', { kind: 'static' })) ?? 0;
    const before2 = await refused(r2);
    const before3 = await refused(r3);
    backend.clearRequests();
    // Replica 2 never read the flipped one; replica 3 never read the swapped ones.
    const f = await r2.get(api('tamper-flip'), token);
    expect([f.status, f.cache], 'the flipped record through replica 2').to.deep.equal([200, 'MISS']);
    expect(dataOf(f)).to.deep.equal(flipped);
    const a = await r3.get(api('tamper-swap-a'), token);
    const b = await r3.get(api('tamper-swap-b'), token);
    expect([a.status, a.cache, b.status, b.cache], 'the swapped records through replica 3').to.deep.equal([200, 'MISS', 200, 'MISS']);
    expect(dataOf(a)).to.deep.equal(left);
    expect(dataOf(b)).to.deep.equal(right);
    for (const name of ['tamper-flip', 'tamper-swap-a', 'tamper-swap-b']) expect(await vaultReads(backend, api(name), token), `${name} read from Vault`).to.equal(1);
    const counted2 = (await refused(r2)) - before2;
    const counted3 = (await refused(r3)) - before3;
    const byReason = async (r: FleetReplica): Promise<string> => {
      const out: string[] = [];
      for (const reason of ['tampered', 'wrong_key', 'malformed', 'undecodable', 'misfiled']) {
        const n = (await r.metric('vault_extproc_fleet_refused_total', { kind: 'static', reason })) ?? 0;
        if (n) out.push(`${reason}=${n}`);
      }
      return out.join(',') || 'none';
    };
    console.log(`      ${tag} refused and never served: replica 2 counted ${counted2} (flipped byte; ${await byReason(r2)}), replica 3 counted ${counted3} (swapped pair; ${await byReason(r3)}); each next read a MISS with Vault's answer (1 Vault read each)`);
    expect(counted2, 'refusals counted by replica 2 (the flipped byte)').to.equal(1);
    expect(counted3, 'refusals counted by replica 3 (the swapped pair)').to.equal(2);
    // And the records that replaced them are served again, as HITs with the right values.
    expect(dataOf(await r3.get(api('tamper-flip'), token))).to.deep.equal(flipped);
    await sleep(FLEET_BOUND_MS);
    const again = await r2.get(api('tamper-swap-b'), token);
    expect([again.cache, dataOf(again)], 'the record replica 3 wrote, through replica 2').to.deep.equal(['HIT', right]);
  });

  it('Redis hung (SIGSTOP) past max_stale_without_redis, then resumed with its data (no gap): every replica checks its tokens again before its L1 answers them: a token revoked in Vault meanwhile is refused at once', async () => {
    await putSecret('hung');
    await settleWrites();
    const kept = await newToken('hung-kept');
    const inVault = await newToken('hung-revoked-in-vault');
    for (const t of [kept, inVault]) {
      for (const r of fleet.replicas) {
        const primed = await r.pollUntil(api('hung'), t, (a) => a.cache === 'HIT', 5_000);
        expect(primed[primed.length - 1]!.cache, `${r.name} primed`).to.equal('HIT');
      }
    }
    const staleOnAll = (v: number) => async (): Promise<true | undefined> =>
      ((await Promise.all(fleet.replicas.map((r) => r.metric('vault_extproc_fleet_stale')))).every((x) => x === v) ? true : undefined);
    const paused = Date.now();
    redis.pause();
    try {
      await waitFor('every replica stale', staleOnAll(1), (MAX_STALE_S + 5) * 1000, 50);
      // Revoked in Vault: no replica hears of it. (A revocation through a replica would do, too: a
      // change that waits in that replica's outbox until it reconnects. It is not made here because
      // a revoke-self, once heard, has every replica check every token anyway.)
      await backend.revokeToken(inVault);
      backend.clearRequests();
    } finally {
      redis.resume();
    }
    await waitFor('every replica caught up', staleOnAll(0), 20_000, 20);
    const caughtUp = Date.now();
    for (const r of fleet.replicas) {
      const a = await r.get(api('hung'), inVault);
      expect([a.status, a.cache], `the token revoked in Vault, via ${r.name}`).to.deep.equal([403, null]);
      expect((await r.get(api('hung'), kept)).status, `the other token via ${r.name}`).to.equal(200);
    }
    const seen = await backend.tokenAsSeen(kept);
    const checks = backend.requests.filter((q) => q.token === seen && q.path !== api('hung')).length;
    console.log(`      ${tag} Redis hung ${caughtUp - paused} ms, data kept: a token revoked in Vault meanwhile refused on every replica at its first read after the catch-up; the valid token served, checked again ${checks}x`);
  });

  it('Redis killed mid-traffic, then restarted empty: no answer Vault would refuse, valid tokens served throughout, /readyz degraded while Redis is down, the shared cache works again after', async () => {
    const secrets = ['outage-a', 'outage-b'];
    for (const s of secrets) await putSecret(s);
    await settleWrites();
    const valid = await Promise.all(['outage-1', 'outage-2', 'outage-3'].map((l) => newToken(l)));
    const doomed = await newToken('outage-revoked-in-vault');
    const tokens = [...valid, doomed];
    // Warm: every token's access to both secrets in every replica's L1 and in L2.
    for (const t of tokens) for (const s of secrets) for (const r of fleet.replicas) expect((await r.get(api(s), t)).status).to.equal(200);
    // What Redis holds now (tests 1–4's records and events) is in the leak dump: it is about to be lost.
    await rememberAutoAuthTokens();
    await dumpRedis('before Redis was killed');

    interface Outcome extends Answer { token: number; replica: string }
    const outcomes: Outcome[] = [];
    const until = { stop: false };
    const traffic = Promise.all(tokens.map(async (t, ti) => {
      for (let n = 0; !until.stop; n++) {
        const r = fleet.replicas[(n + ti) % 3]!;
        const a = await r.get(api(secrets[n % 2]!), t).catch((err: Error) => ({ status: -1, body: err.message, headers: new Headers(), cache: null, sent: Date.now(), at: Date.now() }));
        outcomes.push({ ...a, token: ti, replica: r.name });
        await sleep(15);
      }
    }));
    const marks = { killed: 0, degraded: 0, stale: 0, revokeSent: 0, revoked: 0, restarted: 0, recovered: 0 };
    const readyzWhileDown: string[] = [];
    try {
      await sleep(1_000);
      marks.killed = Date.now();
      await redis.kill();
      // Every replica says degraded (ready: required_for_ready is false) while Redis is down.
      await waitFor('every replica /readyz degraded', async () => {
        const all = await Promise.all(fleet.replicas.map((r) => r.readyz()));
        return all.every((z) => z.status === 200 && z.body.status === 'degraded') ? all : undefined;
      }, 10_000, 50);
      marks.degraded = Date.now();
      for (const r of fleet.replicas) {
        const z = await r.readyz();
        readyzWhileDown.push(`${r.name}: ${z.status} ${z.body.status}`);
        expect(await r.metric('vault_extproc_fleet_redis_up'), `${r.name} redis_up while Redis is down`).to.equal(0);
      }
      // Past max_stale_without_redis every replica stops answering from its L1 (so it goes to Vault).
      await waitFor('every replica stale', async () => {
        const s = await Promise.all(fleet.replicas.map((r) => r.metric('vault_extproc_fleet_stale')));
        return s.every((v) => v === 1) ? true : undefined;
      }, (MAX_STALE_S + 5) * 1000, 50);
      marks.stale = Date.now();
      // A token revoked directly in Vault while Redis is away: no replica can hear of it.
      marks.revokeSent = Date.now();
      await backend.revokeToken(doomed);
      marks.revoked = Date.now();
      await sleep(1_500);
      marks.restarted = Date.now();
      await redis.restart({ keepData: false });
      await waitFor('every replica back on Redis, caught up and ready', async () => {
        for (const r of fleet.replicas) {
          if ((await r.metric('vault_extproc_fleet_redis_up')) !== 1 || (await r.metric('vault_extproc_fleet_stale')) !== 0) return undefined;
          const z = await r.readyz();
          if (z.status !== 200 || z.body.status !== 'ready') return undefined;
        }
        return true;
      }, 20_000, 100);
      marks.recovered = Date.now();
      await sleep(2_000);
    } finally {
      until.stop = true;
    }
    await traffic;
    const inWindow = (from: number, to: number): Outcome[] => outcomes.filter((o) => o.sent >= from && o.sent < to);
    const summary = (os: Outcome[]): string => `${os.length} (${os.filter((o) => o.cache === 'HIT').length} HIT)`;
    console.log(`      ${tag} ${outcomes.length} answers: before the kill ${summary(inWindow(0, marks.killed))}, Redis down and fresh ${summary(inWindow(marks.killed, marks.stale))}, ` +
      `stale ${summary(inWindow(marks.stale, marks.restarted))}, restarting ${summary(inWindow(marks.restarted, marks.recovered))}, after ${summary(inWindow(marks.recovered, Infinity))}; ` +
      `degraded on all ${marks.degraded - marks.killed} ms after the kill (${readyzWhileDown.join(', ')}), stale on all after ${marks.stale - marks.killed} ms, ` +
      `caught up ${marks.recovered - marks.restarted} ms after the restart`);

    // Valid tokens: 200 throughout (from L1 or from Vault), never an error.
    const validBad = outcomes.filter((o) => o.token < valid.length && o.status !== 200).map((o) => `${o.replica} ${o.status} at +${o.sent - marks.killed} ms`);
    expect(validBad, 'answers to valid tokens other than 200').to.deep.equal([]);
    // The revoked token: what Vault itself answers it — 200 before the revocation, 403 once it is done.
    expect(await vaultStatus(api(secrets[0]!), doomed)).to.equal(403);
    const doomedOutcomes = outcomes.filter((o) => o.token === valid.length);
    const servedAfterRevocation = doomedOutcomes.filter((o) => o.sent >= marks.revoked && o.status !== 403).map((o) => `${o.replica} ${o.status} ${o.cache ?? ''} at +${o.sent - marks.revoked} ms`);
    expect(servedAfterRevocation, 'answers to the revoked token that Vault would refuse').to.deep.equal([]);
    expect(doomedOutcomes.filter((o) => o.at <= marks.revokeSent && o.status !== 200), 'the token before its revocation').to.deep.equal([]);
    expect(doomedOutcomes.filter((o) => o.sent >= marks.revoked).length, 'reads by the revoked token after the revocation').to.be.greaterThan(10);
    expect(inWindow(marks.recovered, Infinity).length, 'answers after the recovery').to.be.greaterThan(10);

    // The shared cache works again on the emptied Redis: MISS through 1, HIT through 3.
    await putSecret('outage-after');
    await settleWrites();
    const t = valid[0]!;
    await readThroughReplica1('outage-after', t);
    const hit = await r3.get(api('outage-after'), t);
    expect([hit.status, hit.cache], 'a HIT through replica 3 after the restart').to.deep.equal([200, 'HIT']);
  });

  it(`kill -9 of the owner: another replica owns within 2 × owner_lease_ttl (${2 * OWNER_LEASE_TTL_S} s), the survivors keep serving, the auto-auth token keeps working past its TTL, and the event subscription comes back`, async function () {
    this.timeout(120_000);
    const owner = await fleet.exactlyOneOwner(fleet.replicas, 3 * OWNER_LEASE_TTL_S * 1000);
    const survivors = fleet.replicas.filter((r) => r !== owner);
    const token = await newToken('owner-kill');
    await putSecret('owner-kill-client');
    await putSecret('owner-kill-auto');
    // Two secrets in both survivors' L1 (HIT): one written in Vault while no replica is subscribed
    // (between the kill and the new owner's subscription), one written once it is subscribed again.
    const EVENTS = ['owner-kill-gap', 'owner-kill-live'] as const;
    const newValue: Record<string, { v: string }> = {};
    const oldValue: Record<string, { v: string }> = {};
    for (const name of EVENTS) oldValue[name] = await putSecret(name);
    await settleWrites();
    for (const name of EVENTS) {
      const old = oldValue[name]!;
      newValue[name] = { v: `${name}-new-${randomBytes(8).toString('hex')}` };
      remember(`secret value of ${name} (new)`, newValue[name]!.v);
      for (const r of survivors) {
        expect((await r.get(api(name), token)).status).to.equal(200);
        const h = await r.get(api(name), token);
        expect([h.cache, dataOf(h)], `${name} primed on ${r.name}`).to.deep.equal(['HIT', old]);
      }
    }
    for (const r of survivors) expect((await r.get(api('owner-kill-auto'))).status, `an auto-auth request through ${r.name} before the kill`).to.equal(200);
    // A lease the fleet tracks: a child of the auto-auth token (a subset of its policies) created through the owner (its lease
    // cache records it and the owner renews it). Its TTL is the auto-auth token's: only a renewal
    // after the kill keeps it alive past killedAt + TTL.
    // (Its policy is its parent's: a policy with a more specific rule for the secrets and no
    // `subscribe` on the auto-auth token would silently stop their KV events.)
    const created = await owner.request('POST', '/v1/auth/token/create', { body: { policies: ['fleet-e2e-worker'], ttl: `${AUTO_AUTH_TTL_S}s`, explicit_max_ttl: '1h' } });
    expect(created.status, 'a child token created through the owner').to.equal(200);
    const child = JSON.parse(created.body).auth as { client_token: string; accessor: string; lease_duration: number };
    rememberToken('child token created through the owner', child.client_token, child.accessor);
    await rememberAutoAuthTokens();
    const subscribedBefore = new Map(survivors.map((r) => [r, r.proc!.jsonLines.filter((l) => l['msg'] === 'subscribed to KV events').length]));

    interface Outcome extends Answer { replica: string; auto: boolean }
    const outcomes: Outcome[] = [];
    const until = { stop: false };
    const traffic = Promise.all(survivors.map(async (r) => {
      for (let n = 0; !until.stop; n++) {
        const auto = n % 2 === 1;
        const a = await r.get(api(auto ? 'owner-kill-auto' : 'owner-kill-client'), auto ? undefined : token)
          .catch((err: Error) => ({ status: -1, body: err.message, headers: new Headers(), cache: null, sent: Date.now(), at: Date.now() }));
        outcomes.push({ ...a, replica: r.name, auto });
        await sleep(50);
      }
    }));
    let killedAt = 0;
    let ownedMs = 0;
    let newOwner: FleetReplica | undefined;
    let resubscribedAt: number | undefined;
    const written: Record<string, number> = {};
    /** When each survivor first served a secret's new value (undefined: not within 15 s). */
    const served: Record<string, Array<number | undefined>> = {};
    const untilNewValue = (name: string): Promise<void> => Promise.all(survivors.map(async (r, i) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const a = await r.get(api(name), token);
        if (a.status === 200 && (dataOf(a) as { v: string }).v === newValue[name]!.v) {
          (served[name] ??= [])[i] = a.at;
          return;
        }
        await sleep(50);
      }
    })).then(() => undefined);
    try {
      await sleep(500);
      backend.clearRequests();
      killedAt = Date.now();
      await owner.kill9();
      // Written directly in Vault (not through any replica) while nobody holds the subscription:
      // only the new owner's resync after it subscribes can bring it to the caches (refresh 1 h).
      written['owner-kill-gap'] = Date.now();
      await vaultApi(backend, 'POST', `secret/data/${PREFIX}/owner-kill-gap`, { data: newValue['owner-kill-gap'] });
      const gap = untilNewValue('owner-kill-gap');
      newOwner = await fleet.exactlyOneOwner(survivors, 4 * OWNER_LEASE_TTL_S * 1000);
      ownedMs = Date.now() - killedAt;
      const owning = newOwner;
      // Once the new owner says it subscribed (its log), a write travels as a live event.
      resubscribedAt = await waitFor(`${owning.name} subscribed to KV events again`, () => {
        const sub = owning.proc!.jsonLines.filter((l) => l['msg'] === 'subscribed to KV events');
        return sub.length > subscribedBefore.get(owning)! ? Date.parse(String(sub[sub.length - 1]!['time'])) : undefined;
      }, 15_000).catch(() => undefined);
      written['owner-kill-live'] = Date.now();
      await vaultApi(backend, 'POST', `secret/data/${PREFIX}/owner-kill-live`, { data: newValue['owner-kill-live'] });
      await Promise.all([gap, untilNewValue('owner-kill-live')]);
      // The old owner's auto-auth token (or its successor) must outlive its TTL: keep the traffic
      // running until the token the dead owner last renewed would have expired.
      await sleep(Math.max(0, killedAt + (AUTO_AUTH_TTL_S + 2) * 1000 - Date.now()));
    } finally {
      until.stop = true;
    }
    await traffic;

    const logins = backend.requests.filter((r) => r.path === '/v1/auth/approle/login').length;
    // The tracked lease: still valid past its TTL after the kill, renewed since the kill, and usable.
    const lookup = await fetch(`${backend.url}/v1/auth/token/lookup`, {
      method: 'POST', headers: { 'x-vault-token': backend.rootToken, 'content-type': 'application/json' }, body: JSON.stringify({ token: child.client_token }),
    });
    const childInfo = lookup.status === 200 ? ((await lookup.json()) as { data: { issue_time: string; ttl: number } }).data : undefined;
    /** When the child token would have expired without a renewal, by Vault's own clock: issued + its TTL. */
    const childExpiresAt = childInfo ? Date.parse(childInfo.issue_time) + child.lease_duration * 1000 : Infinity;
    // Its renewals that reached Vault since the kill (the lease cache renews a token with renew-self).
    const childSeen = await backend.tokenAsSeen(child.client_token);
    const childRenewals = backend.requests.filter((r) => r.path === '/v1/auth/token/renew-self' && r.token === childSeen && r.status === 200).map((r) => r.at);
    const childRenewedAt = childRenewals.length ? Math.min(...childRenewals) : undefined;
    /** The auto-auth token's renewals since the kill (every renew-self but the child's). */
    const renewals = backend.requests.filter((r) => r.path === '/v1/auth/token/renew-self' && r.token !== childSeen).length;
    const failed = outcomes.filter((o) => o.status !== 200);
    const servedFigure = (name: string): string => survivors.map((r, i) => {
      const at = served[name]?.[i];
      return `${r.name} ${at === undefined ? 'never (15 s)' : `+${at - written[name]!} ms`}`;
    }).join(', ');
    console.log(`      ${tag} owner ${owner.name} killed: ${newOwner!.name} owner after ${ownedMs} ms (bound ${2 * OWNER_LEASE_TTL_S * 1000} ms); ` +
      `resubscribed ${resubscribedAt === undefined ? '(no new log line)' : `${resubscribedAt - killedAt} ms`} after the kill; ` +
      `a write in Vault during the take-over served new by ${servedFigure('owner-kill-gap')}, one after the resubscription by ${servedFigure('owner-kill-live')}; ` +
      `${outcomes.length} requests through the survivors over ${AUTO_AUTH_TTL_S + 2} s (${outcomes.filter((o) => o.auto).length} with the auto-auth token), ${failed.length} failed; ` +
      `Vault saw ${renewals} renew-self of the auto-auth token and ${logins} AppRole logins after the kill; the child token created through the dead owner ` +
      `${childInfo ? `is valid (ttl ${childInfo.ttl} s), renewed ${childRenewals.length}× since the kill, first ${childRenewedAt === undefined ? 'never' : `${childRenewedAt - killedAt} ms after the kill (${childRenewedAt - killedAt - ownedMs} ms after the new owner was seen), ${childExpiresAt - childRenewedAt} ms before it would have expired`}` : `is gone (lookup ${lookup.status})`}`);
    expect(ownedMs, 'ms until another replica owns').to.be.at.most(2 * OWNER_LEASE_TTL_S * 1000);
    expect(failed.map((o) => `${o.replica} ${o.auto ? 'auto-auth' : 'client'} ${o.status} at +${o.sent - killedAt} ms`), 'requests through the survivors that failed').to.deep.equal([]);
    expect(outcomes.filter((o) => o.auto && o.sent > killedAt + AUTO_AUTH_TTL_S * 1000).length, 'auto-auth requests past the old token\'s TTL').to.be.greaterThan(0);
    expect(renewals + logins, 'the new owner renewed (or replaced) the auto-auth token').to.be.greaterThan(0);
    expect(lookup.status, 'the tracked child token is still valid past its TTL after the owner\'s kill').to.equal(200);
    expect(childRenewedAt, 'the tracked child token was renewed after the kill (by the new owner)').not.to.equal(undefined);
    expect(childRenewedAt, 'the first renewal after the kill came before the token expired').to.be.below(childExpiresAt);
    expect((await survivors[0]!.get(api('owner-kill-client'), child.client_token)).status, 'the child token reads through a survivor').to.equal(200);
    // The subscription is back: both writes reached both survivors' caches (the gap one through the
    // new owner's resync, the live one as an event), and they are served from the cache again.
    expect(resubscribedAt, 'the new owner subscribed to KV events again').not.to.equal(undefined);
    for (const name of EVENTS) {
      expect(survivors.filter((_, i) => served[name]?.[i] === undefined).map((r) => r.name), `survivors that never served the new ${name} (15 s)`).to.deep.equal([]);
      for (const r of survivors) {
        const a = await r.get(api(name), token);
        expect([a.cache, dataOf(a)], `${name} on ${r.name} after the write`).to.deep.equal(['HIT', newValue[name]]);
      }
    }
    await rememberAutoAuthTokens();
    // The killed replica comes back as a follower (one owner stays), for the leak dump.
    await owner.start();
    await sleep(1_000);
    expect((await fleet.owners()).map((r) => r.name)).to.deep.equal([newOwner!.name]);
    await rememberAutoAuthTokens();
  });

  it('the leak dump: every key and value in Redis (strings, stream entries, every type) holds no token, accessor, token hash, secret value or plain path the suite used', async () => {
    await rememberAutoAuthTokens();
    const last = await dumpRedis('after the suite');
    const kinds = (d: { keys: string[] }): string => {
      const count = new Map<string, number>();
      for (const k of d.keys) {
        const kindOf = /^vxp:(s:|l:|a:)/.exec(k)?.[1] ?? k.replace(/^vxp:/, '').replace(/[A-Za-z0-9_-]{20,}$/, '…');
        count.set(kindOf, (count.get(kindOf) ?? 0) + 1);
      }
      return [...count].map(([k, n]) => `${k}×${n}`).join(' ');
    };
    for (const d of dumps) console.log(`      ${tag} dump ${d.when}: ${d.keys.length} keys (${kinds(d)}), ${d.text.length} chars; checked for ${needles.length} needles`);
    // Not vacuous: both dumps hold secret records, the events stream with entries, the shared auto-auth token.
    for (const d of dumps) {
      expect(d.keys.some((k) => k.startsWith('vxp:s:')), `${d.when}: secret records`).to.equal(true);
      expect(d.keys.some((k) => k.startsWith('vxp:a:')), `${d.when}: the shared auto-auth token`).to.equal(true);
      expect(d.keys, `${d.when}: the events stream`).to.include('vxp:events');
      expect(d.text.split('\n').length, `${d.when}: stream entries and values`).to.be.greaterThan(d.keys.length);
    }
    expect(needles.filter((n) => n.label.startsWith('auto-auth token')).length, 'auto-auth tokens collected').to.be.greaterThan(0);
    expect(needles.filter((n) => n.label.startsWith('client token')).length, 'client tokens collected').to.be.greaterThan(0);
    // Only labels are reported: a token or secret is never printed.
    for (const d of dumps) {
      const found = needles.filter((n) => d.text.includes(n.value)).map((n) => n.label);
      expect(found, `found in Redis (${d.when})`).to.deep.equal([]);
    }
    expect(last.keys.length).to.be.greaterThan(0);
  });
});
