// Invalidation everywhere (issue 16 step 4): every change a replica makes is appended, sealed, to
// one Redis Stream (`<prefix>events`, src/fleet/stream-publisher.ts); every replica follows it and
// applies each change to its L1 through a callback. What the follower cannot vouch for it says, so
// the caller drops its L1 rather than serve what another replica invalidated:
//
//   onGap(reason)  drop L1 now; following goes on.
//     trimmed   entries after our position were removed before we read them (MAXLEN trimming
//               while we were behind or away, or an XDEL): we cannot know what they said;
//     lost      the stream is not the one we followed: Redis restarted without its data (or was
//               flushed), or first contact with Redis came only after it was unreachable at start;
//     refused / malformed / unknown   an entry that does not open, does not decode, or carries a
//               kind this release does not know (src/fleet/stream-entry.ts): never applied;
//     replayed  an entry whose origin sequence number does not advance (the same entry appended
//               again): opens fine, but someone who can write to Redis is replaying entries;
//     apply_failed  the callback threw on an event.
//   onStale()      Redis has not been heard from for longer than max_stale_without_redis: stop
//                  serving L1 (every request to Vault) until onCaughtUp().
//   onCaughtUp()   after onStale: the stream was read to its end again (any gap said first).
//
// How each is seen, per read cycle on the follower's own connection (one pipeline, one round trip):
//   SET <prefix>events:epoch <random> NX GET · XINFO STREAM <prefix>events · XREAD COUNT c BLOCK b STREAMS … <last id>
// - lost: the epoch is a random value the first follower of a stream sets (`SET NX GET` answers
//   the one there, or sets ours; Redis 7.0). A Redis that restarts empty has none, so the next
//   cycle finds another (ours or another follower's) even though the new stream's ids are higher
//   than the old ones. Also lost: XINFO's entries-added went down, or the stream is gone once we
//   had read from it (deleted, and perhaps made again). After `lost` the follower reads the new
//   stream from its start. (The epoch and the stream have no TTL: a maxmemory policy that evicts
//   keys without one, allkeys-*, would make a follower say lost, never miss an entry.)
// - trimmed: we count the entries at or before our position (`entriesAtOrBefore`: XINFO's
//   entries-added when we start at the end, plus each entry we read). XINFO's entries-added minus
//   length is how many entries were ever deleted; trimming deletes the oldest first, so more
//   deleted than we have passed means some were deleted unread. XINFO runs before XREAD on the
//   same connection, so a trim between the two is seen the next cycle. An XDEL past our
//   position also shows in max-deleted-entry-id. Needs Redis 7.0 (entries-added).
// - stale: "heard" is the last answer on this connection. A read cycle outstanding on an open
//   connection is owed its answer within the block time (+ ANSWER_GRACE_MS, 200 ms), so Redis
//   counts as heard until then; a cycle whose checks failed vouches for nothing. A check every
//   `checkPeriodMs` compares with max_stale_without_redis: onStale at most bound + one check
//   period after a dropped connection (a killed Redis), bound + block + 200 ms + one check period
//   after Redis stops answering with the connection open (a hung Redis: the read sent just before
//   may legitimately block that long).
//
// Own events (origin = this replica's id) are skipped by default: the caller applied its change to
// its own L1 before publishing it, and applying it again later would evict what it recorded
// since (a `static-recorded` for its own fresh entry). `applyOwn` turns that off. Sequence numbers
// are checked for own entries too.
//
// The read blocks, so the follower needs a FleetRedis of its own (a blocking read holds its
// connection; node-redis exempts blocking commands from the command timeout). While that
// connection is down the follower sends nothing: it waits for the client's `up` (the client
// reconnects with capped backoff); a command that fails while up is retried after a capped
// backoff (100 ms … 5 s). It resumes from its last id after a reconnect.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RESP_TYPES } from 'redis';
import type { Sealer } from '../crypto/sealer.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { Backoff } from '../worker/backoff.js';
import type { FleetRedis } from './redis-client.js';
import type { FleetEvent } from './schema.js';
import { EntryError, openEntry, type EntryRefusal } from './stream-entry.js';
import { EPOCH_NAME, STREAM_NAME } from './stream-publisher.js';
import { ReplayGuard } from './stream-replay.js';

export { InvalidationPublisher, DEFAULT_STREAM_MAX_LEN, type InvalidationPublisherOptions } from './stream-publisher.js';

/** How late after its block time a read's empty answer may arrive (Redis's timer, the way back). */
export const ANSWER_GRACE_MS = 200;

export type GapReason = 'trimmed' | 'lost' | EntryRefusal | 'replayed' | 'apply_failed';

export interface InvalidationHandlers {
  /** Apply one change to L1 (synchronously). `id`: its stream id. */
  apply(event: FleetEvent, id: string): void;
  /** Drop L1: the follower cannot vouch for it. `detail` names no token or path. */
  onGap(reason: GapReason, detail: string): void;
  /** Redis unheard for longer than max_stale_without_redis: stop serving L1. */
  onStale(): void;
  /** After onStale: following again, caught up with the stream. */
  onCaughtUp(): void;
}

export interface InvalidationFollowerOptions {
  /** A FleetRedis of the follower's own (started by the caller, closed by the caller after stop()). */
  redis: FleetRedis;
  sealer: Sealer;
  replicaId: string;
  handlers: InvalidationHandlers;
  /** max_stale_without_redis in ms (the config's seconds × 1000); 0: stale as soon as Redis is not heard. */
  maxStaleMs: number;
  /** XREAD BLOCK time (default 1000 ms): also how often an idle follower checks the epoch. */
  blockMs?: number;
  /** How often staleness is checked (default 250 ms). */
  checkPeriodMs?: number;
  /** Entries per read (default 500). */
  count?: number;
  /** Apply this replica's own events too (default false). */
  applyOwn?: boolean;
  logger?: Logger;
}

export interface FollowerStats {
  /** Read cycles sent (each: SET NX GET, XINFO STREAM, XREAD). */
  cycles: number;
  /** Commands sent (the cycles' and the first contact's), failed ones included. */
  commandsSent: number;
  applied: number;
  skippedOwn: number;
  gaps: Partial<Record<GapReason, number>>;
  failedCycles: number;
}

interface StreamInfo {
  length: number;
  entriesAdded: number;
  lastGeneratedId: string;
  maxDeletedId: string;
}

type RawEntry = [Buffer, Buffer[]];

export class InvalidationFollower {
  readonly streamKey: string;
  readonly epochKey: string;
  readonly blockMs: number;
  readonly checkPeriodMs: number;
  readonly maxStaleMs: number;
  readonly stats: FollowerStats = { cycles: 0, commandsSent: 0, applied: 0, skippedOwn: 0, gaps: {}, failedCycles: 0 };
  private readonly redis: FleetRedis;
  private readonly sealer: Sealer;
  private readonly replicaId: string;
  private readonly h: InvalidationHandlers;
  private readonly count: number;
  private readonly applyOwn: boolean;
  private readonly log: Logger | undefined;
  private replay = new ReplayGuard();
  private readonly backoff = new Backoff(100, 5_000);
  /** The epoch we follow; undefined before first contact. */
  private epoch: string | undefined;
  /** The last id read (exclusive start of the next read). */
  private lastId = '0-0';
  /** Entries ever added to the stream with an id at or before lastId (see the header). */
  private entriesAtOrBefore = 0;
  private lastEntriesAdded = 0;
  private heardAt = performance.now();
  /** When the outstanding read cycle was sent (undefined between cycles). */
  private cycleSentAt: number | undefined;
  private stale = false;
  private hadFailure = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: InvalidationFollowerOptions) {
    this.redis = opts.redis;
    this.sealer = opts.sealer;
    this.replicaId = opts.replicaId;
    this.h = opts.handlers;
    this.maxStaleMs = opts.maxStaleMs;
    this.blockMs = opts.blockMs ?? 1_000;
    this.checkPeriodMs = opts.checkPeriodMs ?? 250;
    this.count = opts.count ?? 500;
    this.applyOwn = opts.applyOwn ?? false;
    this.log = opts.logger?.child({ component: 'fleet-invalidation' });
    this.streamKey = opts.redis.key(STREAM_NAME);
    this.epochKey = opts.redis.key(EPOCH_NAME);
    // The block time bounds how soon an idle follower sees a lost stream and how long stop() waits.
    if (!(this.blockMs >= 10 && this.blockMs <= 10_000)) throw new Error(`blockMs must be 10 to 10000, got ${this.blockMs}`);
    if (!(this.checkPeriodMs > 0) || !(this.maxStaleMs >= 0)) throw new Error('checkPeriodMs must be positive and maxStaleMs at least 0');
  }

  /** The last stream id read (where a reconnect resumes). */
  get position(): string {
    return this.lastId;
  }

  get isStale(): boolean {
    return this.stale;
  }

  /** Starts following (again, from where it stopped). Returns at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.heardAt = performance.now();
    this.checkTimer = setInterval(() => this.checkStale(), this.checkPeriodMs);
    this.checkTimer.unref();
    this.loop = this.run();
  }

  /** Stops following; resolves once the current read ended (at most one block period). */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.checkTimer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.redis.isUp) {
        // No commands while the connection is down: the client reconnects with backoff and says `up`.
        await Promise.race([this.redis.untilUp(this.blockMs), this.sleep(this.blockMs)]);
        continue;
      }
      try {
        await (this.epoch === undefined ? this.firstContact() : this.cycle());
        this.backoff.reset();
      } catch (err) {
        this.stats.failedCycles += 1;
        this.hadFailure = true;
        this.log?.debug({ reason: errorMessage(err) }, 'invalidation stream read failed');
        await this.sleep(this.backoff.next());
      }
    }
  }

  /** The epoch (made if there is none) and the stream's end: where a follower with an empty L1 starts. */
  private async firstContact(): Promise<void> {
    this.stats.commandsSent += 2;
    const [epoch, info] = await Promise.all([this.epochNow(), this.xinfo()]);
    this.heard();
    this.epoch = epoch;
    this.lastId = info?.lastGeneratedId ?? '0-0';
    this.entriesAtOrBefore = info?.entriesAdded ?? 0;
    this.lastEntriesAdded = this.entriesAtOrBefore;
    // Redis unreachable at start: changes made meanwhile are before the end we start from.
    if (this.hadFailure) this.gap('lost', 'first contact with Redis after it was unreachable at start');
    this.catchUpIfStale();
  }

  /** One read cycle: the checks and the read in one pipeline; a gap is said when the checks answer. */
  private async cycle(): Promise<void> {
    this.stats.cycles += 1;
    this.stats.commandsSent += 3;
    const from = this.lastId;
    let checksAnswered = false;
    this.cycleSentAt = performance.now();
    const checked = Promise.all([this.epochNow(), this.xinfo()]).then(([epoch, info]) => {
      this.heard();
      checksAnswered = true;
      const lost = this.checkLost(epoch, info);
      if (!lost && info) this.checkTrimmed(info, from);
      return lost;
    });
    const read = this.redis.client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array })
      .sendCommand(['XREAD', 'COUNT', String(this.count), 'BLOCK', String(this.blockMs), 'STREAMS', this.streamKey, from])
      .finally(() => this.cycleDone(checksAnswered));
    // One cycle at a time on this connection: both are waited for, whatever either says.
    const [lost, reply] = await Promise.allSettled([checked, read]);
    if (lost.status === 'rejected') throw lost.reason;
    if (reply.status === 'rejected') throw reply.reason;
    this.heard();
    if (lost.value) return; // read from a stream we no longer follow; the next cycle reads the new one from its start
    // RESP3 answers a map { stream: entries }, read as the flat [stream, entries] (null: nothing new).
    const entries = (reply.value as unknown as [Buffer, RawEntry[]] | null)?.[1] ?? [];
    for (const [id, fields] of entries) this.handle(id.toString('latin1'), fields);
    if (entries.length < this.count) this.catchUpIfStale();
  }

  /** The stream's epoch: `SET NX GET` returns the one there, or sets ours when there is none (Redis 7.0). */
  private async epochNow(): Promise<string> {
    const mine = randomBytes(16).toString('hex');
    const there = await this.redis.client.sendCommand(['SET', this.epochKey, mine, 'NX', 'GET']);
    return there === null ? mine : String(there);
  }

  /** True (and the gap said) when the stream is not the one we followed. */
  private checkLost(epoch: string, info: StreamInfo | undefined): boolean {
    const added = info?.entriesAdded ?? 0;
    let why: string | undefined;
    if (epoch !== this.epoch) why = 'the stream epoch changed (Redis restarted without its data, or was flushed)';
    else if (added < this.lastEntriesAdded) why = 'the stream was deleted and made again';
    else if (!info && this.lastId !== '0-0') why = 'the stream is gone';
    this.lastEntriesAdded = added;
    if (!why) return false;
    this.epoch = epoch;
    this.lastId = '0-0';
    this.entriesAtOrBefore = 0;
    this.lastEntriesAdded = 0;
    // The new stream is read from its start: its numbers are checked afresh.
    this.replay = new ReplayGuard();
    this.gap('lost', why);
    return true;
  }

  private checkTrimmed(info: StreamInfo, from: string): void {
    const deleted = info.entriesAdded - info.length;
    if (deleted > this.entriesAtOrBefore || compareIds(info.maxDeletedId, from) > 0) {
      const unread = deleted - this.entriesAtOrBefore;
      // Everything deleted is now behind us: count from there.
      this.entriesAtOrBefore = Math.max(this.entriesAtOrBefore, deleted);
      this.gap('trimmed', unread > 0 ? `${unread} entries after our position were removed unread` : 'an entry after our position was deleted');
    }
  }

  private handle(id: string, fields: Buffer[]): void {
    this.lastId = id;
    this.entriesAtOrBefore += 1;
    let opened;
    try {
      opened = openEntry(this.sealer, this.streamKey, fields);
    } catch (err) {
      if (!(err instanceof EntryError)) throw err;
      this.gap(err.reason, `entry ${id}: ${err.message}`);
      return;
    }
    if (!this.replay.advance(opened.origin, opened.seq)) {
      this.gap('replayed', `entry ${id}: origin ${opened.origin}'s sequence number did not advance`);
      return;
    }
    if (opened.origin === this.replicaId && !this.applyOwn) {
      this.stats.skippedOwn += 1;
      return;
    }
    try {
      this.h.apply(opened.event, id);
      this.stats.applied += 1;
    } catch (err) {
      // The callback's message may name a path: only its kind goes into the gap's detail.
      this.gap('apply_failed', `entry ${id}: the apply callback threw (${err instanceof Error ? err.name : typeof err})`);
    }
  }

  private async xinfo(): Promise<StreamInfo | undefined> {
    try {
      const r = await this.redis.client.sendCommand(['XINFO', 'STREAM', this.streamKey]) as unknown as Record<string, unknown>;
      return {
        length: Number(r['length']),
        entriesAdded: Number(r['entries-added']),
        lastGeneratedId: String(r['last-generated-id']),
        maxDeletedId: String(r['max-deleted-entry-id']),
      };
    } catch (err) {
      if (/no such key/i.test(errorMessage(err))) return undefined;
      throw err;
    }
  }

  private gap(reason: GapReason, detail: string): void {
    this.stats.gaps[reason] = (this.stats.gaps[reason] ?? 0) + 1;
    this.log?.warn({ reason, detail }, 'invalidation stream gap: L1 dropped');
    this.h.onGap(reason, detail);
  }

  private heard(): void {
    this.heardAt = performance.now();
  }

  private cycleDone(checksAnswered: boolean): void {
    // A read behind answered checks vouched for Redis until it ended (answered, or the connection
    // dropped), at most what it was owed. A cycle whose checks failed vouches for nothing.
    if (checksAnswered && this.cycleSentAt !== undefined) this.heardAt = Math.max(this.heardAt, Math.min(performance.now(), this.cycleSentAt + this.blockMs + ANSWER_GRACE_MS));
    this.cycleSentAt = undefined;
  }

  /**
   * When Redis was last heard, or is still vouched for: a cycle outstanding on an open connection
   * is owed an answer within the block time and a grace (so max_stale_without_redis 0 does not
   * flap while an idle read's empty answer is on its way).
   */
  private vouchedAt(now: number): number {
    if (this.cycleSentAt !== undefined && this.redis.isUp) return Math.max(this.heardAt, Math.min(now, this.cycleSentAt + this.blockMs + ANSWER_GRACE_MS));
    return this.heardAt;
  }

  private checkStale(): void {
    const now = performance.now();
    if (this.stale || now - this.vouchedAt(now) <= this.maxStaleMs) return;
    this.stale = true;
    this.log?.warn({ maxStaleMs: this.maxStaleMs }, 'invalidation stream unheard for longer than max_stale_without_redis: L1 not vouched for');
    this.h.onStale();
  }

  private catchUpIfStale(): void {
    if (!this.stale) return;
    this.stale = false;
    this.log?.info('invalidation stream caught up');
    this.h.onCaughtUp();
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }
}

/** Orders two stream ids (`ms-seq`). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint?];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint?];
  if (am !== bm) return am < bm ? -1 : 1;
  const x = as ?? 0n;
  const y = bs ?? 0n;
  return x === y ? 0 : x < y ? -1 : 1;
}
