// The fleet's shared stores under test, the way backend.ts's `forEachBackend` runs a suite against
// both Vaults: `forEachStore(title, body)` registers the suite once per store — the in-process
// store and the Redis store against a real redis-server (test/support/redis.ts), one server per
// suite, a fresh key prefix per test — and hands the body a `StoreFixture` for the current test.
// The fixture opens stores over the current test's space with any keyring (rotation) and reads
// and writes the space's raw bytes (as redis-cli would), so one contract test asserts the same
// thing of both stores.
import { randomBytes } from 'node:crypto';
import { RESP_TYPES } from 'redis';
import { FleetRedis } from '../../src/fleet/redis-client.js';
import { InProcessRecordSpace } from '../../src/fleet/in-process-store.js';
import { RedisRecordSpace, RedisSharedStore } from '../../src/fleet/redis-store.js';
import { SealedSharedStore, type RecordKind, type RecordSpace, type RefusalReason } from '../../src/fleet/shared-store.js';
import { startRedis, type RedisServer } from './redis.js';

export type StoreKind = 'in-process' | 'redis';
export const STORE_KINDS: readonly StoreKind[] = ['in-process', 'redis'];

export interface StoreFixture {
  readonly kind: StoreKind;
  /** This test's key prefix (every record of its stores starts with it). */
  readonly prefix: string;
  /** Every refusal any store of this test reported, in order. */
  readonly refusals: Array<{ kind: RecordKind; reason: RefusalReason }>;
  /** This test's space itself (what the stores of `open` write to). */
  readonly space: RecordSpace;
  /** A store over this test's space with `keys` (newest first; default the test's one key). */
  open(keys?: Buffer[]): SealedSharedStore;
  /** A store of another fleet sharing the space (or server): its own prefix, the test's key by default. */
  openFleet(prefix: string, keys?: Buffer[]): Promise<SealedSharedStore>;
  /** The test's default key. */
  readonly key: Buffer;
  /** Raw access to the space (every name, not only this prefix's). */
  names(): Promise<string[]>;
  raw(name: string): Promise<Buffer | undefined>;
  setRaw(name: string, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Milliseconds left, undefined when the name is not held. */
  ttlLeft(name: string): Promise<number | undefined>;
  /** The Redis server (redis store only). */
  readonly server: RedisServer | undefined;
  /** The test's Redis connection (redis store only). */
  readonly redis: FleetRedis | undefined;
}

/** A fresh 32-byte fleet key. */
export function fleetKey(): Buffer {
  return randomBytes(32);
}

export function forEachStore(title: string, body: (this: Mocha.Suite, kind: StoreKind, fixture: () => StoreFixture) => void): void {
  for (const kind of STORE_KINDS) {
    describe(`${title} [${kind}]`, function () {
      let server: RedisServer | undefined;
      let current: StoreFixture | undefined;
      const cleanups: Array<() => Promise<void>> = [];
      let n = 0;

      if (kind === 'redis') {
        before(async function () {
          this.timeout(30_000);
          server = await startRedis();
        });
        after(async () => {
          await server?.stop();
        });
      }
      // One record map for the whole in-process suite (as one redis-server for the Redis suite):
      // each test's space is a view with its own prefix, and raw access sees every prefix.
      const base = new InProcessRecordSpace('', Date.now);

      beforeEach(async function () {
        const prefix = `vxp-t${++n}:`;
        const key = fleetKey();
        const refusals: StoreFixture['refusals'] = [];
        const onRefused = (k: RecordKind, reason: RefusalReason): void => {
          refusals.push({ kind: k, reason });
        };
        if (kind === 'in-process') {
          const own = base.withPrefix(prefix);
          current = {
            kind, prefix, refusals, key, server: undefined, redis: undefined, space: own,
            open: (keys = [key]) => new SealedSharedStore(own, { keys, onRefused }),
            openFleet: (p, keys = [key]) => Promise.resolve(new SealedSharedStore(base.withPrefix(p), { keys, onRefused })),
            names: () => Promise.resolve(base.names()),
            raw: (name) => Promise.resolve(base.raw(name)),
            setRaw: (name, value, ttlMs) => Promise.resolve(base.setRaw(name, value, ttlMs)),
            ttlLeft: (name) => Promise.resolve(base.ttlLeft(name)),
          };
          return;
        }
        const s = server!;
        if (!s.running) await s.restart();
        const connections = new Map<string, FleetRedis>();
        const connect = (p: string): FleetRedis => {
          let c = connections.get(p);
          if (!c) {
            c = new FleetRedis({ url: s.url, keyPrefix: p, reconnectMinMs: 50, reconnectMaxMs: 300 });
            connections.set(p, c);
            const closing = c;
            cleanups.push(() => closing.close());
            c.start();
          }
          return c;
        };
        const redis = connect(prefix);
        if (!(await redis.untilUp(10_000))) throw new Error(`redis at ${s.url} did not come up`);
        const bytes = redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
        current = {
          kind, prefix, refusals, key, server: s, redis, space: new RedisRecordSpace(redis),
          open: (keys = [key]) => new RedisSharedStore({ redis, keys, onRefused }),
          openFleet: async (p, keys = [key]) => {
            const c = connect(p);
            if (!(await c.untilUp(10_000))) throw new Error(`redis at ${s.url} did not come up`);
            return new RedisSharedStore({ redis: c, keys, onRefused });
          },
          names: async () => {
            const out: string[] = [];
            for await (const batch of redis.client.scanIterator({ COUNT: 500 })) out.push(...batch);
            return out;
          },
          raw: async (name) => {
            const v = await bytes.sendCommand(['GET', name]);
            return Buffer.isBuffer(v) ? v : undefined;
          },
          setRaw: async (name, value, ttlMs) => {
            await redis.client.sendCommand(['SET', name, Buffer.from(value), 'PX', String(ttlMs)]);
          },
          ttlLeft: async (name) => {
            const ms = Number(await redis.client.sendCommand(['PTTL', name]));
            return ms === -2 ? undefined : ms;
          },
        };
      });

      afterEach(async function () {
        for (const c of cleanups.splice(0)) await c();
        if (this.currentTest?.state === 'failed' && server) process.stderr.write(`\n${server.logs()}\n`);
      });

      body.call(this, kind, () => {
        if (!current) throw new Error('the store fixture exists only inside a test');
        return current;
      });
    });
  }
}
