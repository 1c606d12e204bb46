// The fleet's L2 in Redis: the RecordSpace of a SharedStore (src/fleet/shared-store.ts says what
// a record is and who writes what). Every command goes through the fleet's one connection
// (src/fleet/redis-client.ts): no offline queue, a timeout on every command, so a Redis that is
// down or hung makes a call reject (SharedStoreUnavailable) instead of waiting.
//
// Commands: MGET (a read, every name of every record asked for), MULTI { SET … PX; DEL } (a write),
// DEL, a Lua compare-and-move (a record found under an older key), a Lua compare-and-set (a static
// record's proofs merged: updateStatic; a lease record's TTL after a renewal: updateLease),
// SCAN MATCH + UNLINK (clear), SCAN MATCH (listLeases: a new owner's every lease).
// The move is a script rather than a MULTI because it must compare first: a record deleted (a
// revocation) or rewritten between our MGET and the move must not come back or be overwritten.
// Every name of one call may lie in different hash slots: this is for a single Redis (or a
// primary with replicas), not Redis Cluster.
import { RESP_TYPES } from 'redis';
import { SealedSharedStore, SharedStoreUnavailable, type RecordSpace, type SealedStoreOptions } from './shared-store.js';
import type { FleetRedis } from './redis-client.js';

/**
 * KEYS[1] from, KEYS[2] to, KEYS[3..] others; ARGV[1] the value `from` must still hold, ARGV[2]
 * the value for `to`. Keeps `from`'s remaining TTL; a `to` already set (a newer write) stays.
 */
export const MOVE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl, 'NX') end
redis.call('DEL', KEYS[1])
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return 1`;

/**
 * KEYS[1] the name, KEYS[2..] others to delete; ARGV[1] '1' when KEYS[1] must hold ARGV[2], '0'
 * when it must hold nothing; ARGV[3] the value, ARGV[4] its TTL in ms.
 */
export const COMPARE_AND_SET_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return 1`;

/** How many names one UNLINK of clear() takes (and SCAN's COUNT hint). */
const CLEAR_BATCH = 500;

export interface RedisSharedStoreOptions extends SealedStoreOptions {
  redis: FleetRedis;
}

export class RedisSharedStore extends SealedSharedStore {
  constructor(opts: RedisSharedStoreOptions) {
    super(new RedisRecordSpace(opts.redis), opts);
  }
}

/** The sealed bytes in Redis (exported for the contract suite, which drives a space directly). */
export class RedisRecordSpace implements RecordSpace {
  readonly prefix: string;
  /** The same connection, answering bulk strings as Buffers (sealed values are bytes). */
  private readonly bytes;

  constructor(private readonly redis: FleetRedis) {
    this.prefix = redis.keyPrefix;
    this.bytes = redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  }

  async mget(names: readonly string[]): Promise<Array<Buffer | null>> {
    const reply = await this.call('MGET', () => this.bytes.sendCommand(['MGET', ...names]));
    if (!Array.isArray(reply) || reply.length !== names.length) throw new SharedStoreUnavailable('fleet store: Redis answered MGET with something else than one value per name');
    return reply.map((v) => (Buffer.isBuffer(v) ? v : null));
  }

  async write(sets: ReadonlyArray<{ name: string; value: Buffer; ttlMs: number }>, deletes: readonly string[]): Promise<void> {
    const multi = this.redis.client.multi();
    for (const s of sets) multi.addCommand(['SET', s.name, s.value, 'PX', String(s.ttlMs)]);
    if (deletes.length) multi.addCommand(['DEL', ...deletes]);
    await this.call('MULTI', () => multi.exec());
  }

  async move(from: string, expected: Buffer, to: string, value: Buffer, others: readonly string[]): Promise<boolean> {
    const keys = [from, to, ...others];
    const reply = await this.call('EVAL', () => this.redis.client.sendCommand(['EVAL', MOVE_SCRIPT, String(keys.length), ...keys, expected, value]));
    return Number(reply) === 1;
  }

  async compareAndSet(name: string, expected: Buffer | null, value: Buffer, ttlMs: number, others: readonly string[]): Promise<boolean> {
    const keys = [name, ...others];
    const args = [expected ? '1' : '0', expected ?? '', value, String(ttlMs)];
    const reply = await this.call('EVAL', () => this.redis.client.sendCommand(['EVAL', COMPARE_AND_SET_SCRIPT, String(keys.length), ...keys, ...args]));
    return Number(reply) === 1;
  }

  async delete(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.call('DEL', () => this.redis.client.sendCommand(['DEL', ...names]));
  }

  async deleteByPrefix(prefixes: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const prefix of prefixes) {
      await this.call('SCAN', async () => {
        for await (const names of this.redis.client.scanIterator({ MATCH: `${globEscape(prefix)}*`, COUNT: CLEAR_BATCH })) {
          if (names.length) deleted += Number(await this.redis.client.unlink(names));
        }
      });
    }
    return deleted;
  }

  async scan(prefix: string): Promise<string[]> {
    const names = new Set<string>();
    await this.call('SCAN', async () => {
      // SCAN may return a name twice (a rehash between calls): a Set keeps each once.
      for await (const batch of this.redis.client.scanIterator({ MATCH: `${globEscape(prefix)}*`, COUNT: CLEAR_BATCH })) {
        for (const n of batch) names.add(String(n));
      }
    });
    return [...names];
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw new SharedStoreUnavailable(`fleet store: ${what} at ${this.redis.target} failed: ${this.redis.scrub(err)}`, { cause: err });
    }
  }
}

/** `s` as a literal in a Redis glob pattern. */
function globEscape(s: string): string {
  return s.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}
