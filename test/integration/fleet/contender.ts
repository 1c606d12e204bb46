// One owner-lease contender in its own process, for the test that kills an owner with SIGKILL
// (no release, no goodbye). Run: node --import tsx contender.ts <redis url> <replica id> <ttl ms>.
// Prints one JSON line per lease event: {"event":"acquired"|"lost"|"renewed"|"up", ...}.
import { OwnerLease } from '../../../src/fleet/owner-lease.js';
import { FleetRedis } from '../../../src/fleet/redis-client.js';

const [url, replicaId, ttl] = process.argv.slice(2);
if (!url || !replicaId || !ttl) throw new Error('usage: contender.ts <redis url> <replica id> <ttl ms>');
const say = (event: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, replicaId, ...extra })}\n`);
};
const redis = new FleetRedis({ url, reconnectMinMs: 50, reconnectMaxMs: 500 });
const lease = new OwnerLease({ redis, replicaId, ttlMs: Number(ttl) });
redis.on('up', () => say('up'));
lease.on('acquired', () => say('acquired'));
lease.on('renewed', () => say('renewed'));
lease.on('lost', (reason) => say('lost', { reason }));
redis.start();
lease.start();
process.once('SIGTERM', () => {
  void lease.stop().then(() => redis.close()).then(() => process.exit(0));
});
