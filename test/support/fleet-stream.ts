// A fleet's invalidation stream as unit tests hold it (test/unit/fleet/*.test.ts): every change a
// replica's FleetSync publishes is logged, and delivered to the other replicas' caches only when the
// test says, so every interleaving is exact. `down`: publishing fails, as with Redis unreachable.
import type { CacheMediator } from '../../src/cache-mediator.js';
import type { FleetChange, FleetEvent } from '../../src/fleet/schema.js';

export class HeldStream {
  readonly log: Array<{ from: string; change: FleetChange }> = [];
  readonly replicas = new Map<string, CacheMediator>();
  down = false;
  private delivered = 0;

  publisher(from: string): { publish(change: FleetChange): Promise<string> } {
    return {
      publish: (change) => {
        if (this.down) return Promise.reject(new Error('Redis is down'));
        this.log.push({ from, change });
        return Promise.resolve(String(this.log.length));
      },
    };
  }

  /** Applies every change not yet delivered, in order, to every replica but its origin. */
  deliver(): void {
    for (; this.delivered < this.log.length; this.delivered++) {
      const { from, change } = this.log[this.delivered]!;
      const event: FleetEvent = { origin: from, atMs: Date.now(), change };
      for (const [id, r] of this.replicas) if (id !== from) r.applyFleetEvent(event);
    }
  }

  kinds(): string[] {
    return this.log.map((e) => e.change.type);
  }
}
