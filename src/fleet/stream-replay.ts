// Replay detection for the invalidation stream: each origin numbers its entries
// `<incarnation>-<counter>` (src/fleet/stream-entry.ts), the counter rising by one per entry in
// the order they are appended. An entry whose counter does not rise within its incarnation, or
// that belongs to an incarnation the origin has left, was appended again by someone who can write
// to Redis (it still opens: the seal binds stream, origin and number, not the position). A new
// incarnation (a restarted replica) is taken as it comes. Memory is bounded: the last 1024
// origins, each with its last 8 incarnations.
import type { SeqNo } from './stream-entry.js';

const MAX_ORIGINS = 1024;
const RETIRED_PER_ORIGIN = 8;

interface OriginState {
  incarnation: string;
  counter: number;
  retired: string[];
}

export class ReplayGuard {
  private readonly origins = new Map<string, OriginState>();

  /** True when `seq` comes after everything seen from `origin` (and records it); false for a replay. */
  advance(origin: string, seq: SeqNo): boolean {
    const state = this.origins.get(origin);
    if (!state) {
      this.remember(origin, { incarnation: seq.incarnation, counter: seq.counter, retired: [] });
      return true;
    }
    // Most recently used last: the oldest origin is the one forgotten.
    this.origins.delete(origin);
    this.origins.set(origin, state);
    if (seq.incarnation === state.incarnation) {
      if (seq.counter <= state.counter) return false;
      state.counter = seq.counter;
      return true;
    }
    if (state.retired.includes(seq.incarnation)) return false;
    state.retired.push(state.incarnation);
    if (state.retired.length > RETIRED_PER_ORIGIN) state.retired.shift();
    state.incarnation = seq.incarnation;
    state.counter = seq.counter;
    return true;
  }

  private remember(origin: string, state: OriginState): void {
    this.origins.set(origin, state);
    if (this.origins.size > MAX_ORIGINS) this.origins.delete(this.origins.keys().next().value!);
  }
}
