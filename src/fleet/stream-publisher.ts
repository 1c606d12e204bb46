// The publishing side of the fleet's invalidation stream: each change becomes one sealed entry
// (src/fleet/stream-entry.ts) appended with `XADD <prefix>events MAXLEN ~ <maxLen> * o … n … s …`.
//
// Batching: `publishMany` sends its XADDs in one write (node-redis pipelines commands issued in
// the same tick), one round trip for the batch; each change stays one entry, so the follower's
// position, trimming and sequence checks work per change. Calls to `publish` in the same tick
// are pipelined the same way.
//
// Trimming: `MAXLEN ~` keeps at least `maxLen` entries (Redis trims whole nodes, so a little
// more). A follower more than that far behind finds its position trimmed away and says so.
//
// A publish that fails (Redis down: the client has no offline queue) rejects; nothing is retried
// here. The caller has applied the change to its own L1 already; the other replicas stop
// vouching for their L1 after max_stale_without_redis (the follower's onStale), which bounds
// what a lost publish can cost.
import type { Sealer } from '../crypto/sealer.js';
import type { FleetRedis } from './redis-client.js';
import type { FleetChange } from './schema.js';
import { sealEntry, SeqCounter } from './stream-entry.js';

/** The stream's key under the fleet's prefix, and its epoch's (src/fleet/invalidation-stream.ts). */
export const STREAM_NAME = 'events';
export const EPOCH_NAME = 'events:epoch';

/** Entries kept (at least) by `MAXLEN ~`: minutes of a busy fleet's changes, a few MB. */
export const DEFAULT_STREAM_MAX_LEN = 10_000;

export interface InvalidationPublisherOptions {
  redis: FleetRedis;
  sealer: Sealer;
  /** This replica's id: every entry's origin. */
  replicaId: string;
  /** Approximate number of entries kept (default 10 000). */
  maxLen?: number;
  /** Wall clock for the events' `atMs` (default Date.now). */
  clock?: () => number;
}

export class InvalidationPublisher {
  readonly streamKey: string;
  readonly replicaId: string;
  readonly maxLen: number;
  private readonly redis: FleetRedis;
  private readonly sealer: Sealer;
  private readonly seq = new SeqCounter();
  private readonly clock: () => number;

  constructor(opts: InvalidationPublisherOptions) {
    this.redis = opts.redis;
    this.sealer = opts.sealer;
    this.replicaId = opts.replicaId;
    this.maxLen = opts.maxLen ?? DEFAULT_STREAM_MAX_LEN;
    if (!Number.isInteger(this.maxLen) || this.maxLen < 1) throw new Error(`maxLen must be a positive integer, got ${this.maxLen}`);
    this.clock = opts.clock ?? Date.now;
    this.streamKey = opts.redis.key(STREAM_NAME);
  }

  /** Appends one change; resolves with its stream id. */
  async publish(change: FleetChange): Promise<string> {
    const [id] = await this.publishMany([change]);
    return id!;
  }

  /** Appends the changes in order, in one round trip; resolves with their stream ids. */
  async publishMany(changes: readonly FleetChange[]): Promise<string[]> {
    const atMs = this.clock();
    // Sealed and numbered before anything is sent, so numbers follow the order of the writes.
    const commands = changes.map((change) => [
      'XADD', this.streamKey, 'MAXLEN', '~', String(this.maxLen), '*',
      ...sealEntry(this.sealer, this.streamKey, this.seq.next(), { origin: this.replicaId, atMs, change }),
    ]);
    const replies = await Promise.all(commands.map((args) => this.redis.client.sendCommand(args)));
    return replies.map((r) => String(r));
  }
}
