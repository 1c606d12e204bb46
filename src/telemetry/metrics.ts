import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { defaultTelemetry, type TelemetryConfig } from '../config/telemetry.js';
import { VaultMetrics, type MetricsAnswer } from './vault-metrics.js';

/**
 * The service's Prometheus metrics. Vault Agent/Proxy's own telemetry keeps its names (dots
 * become underscores: `vault.agent.cache.hit` → `vault_agent_cache_hit`) so existing dashboards
 * work; ours are `vault_extproc_*` with base units and `_total` counters.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Vault Agent/Proxy's own telemetry (`/agent/v1/metrics`, `/proxy/v1/metrics`), shaped by the telemetry stanza. */
  readonly vault: VaultMetrics;
  readonly authSuccess = this.counter('vault_agent_auth_success', 'Number of authentication successes');
  readonly authFailure = this.counter('vault_agent_auth_failure', 'Number of authentication failures');
  // Each of these also counts Vault's series as Vault Proxy's API handler does (a cache hit is a success too).
  readonly proxySuccess = this.counted('vault_agent_proxy_success', 'Number of requests successfully proxied', () => this.vault.proxySuccess(false));
  readonly proxyClientError = this.counted('vault_agent_proxy_client_error', 'Number of requests for which Vault returned an error', () => this.vault.proxyClientError());
  readonly proxyError = this.counted('vault_agent_proxy_error', 'Number of requests the proxy failed to proxy', () => this.vault.proxyError());
  readonly cacheHit = this.counted('vault_agent_cache_hit', 'Number of cache hits', () => this.vault.proxySuccess(true));
  readonly cacheMiss = this.counter('vault_agent_cache_miss', 'Number of cache misses');
  readonly evictions = new Counter({ name: 'vault_extproc_cache_evictions_total', help: 'Cache entries evicted, by cache and reason', labelNames: ['cache', 'reason'], registers: [this.registry] });
  readonly renewals = new Counter({ name: 'vault_extproc_renewals_total', help: 'Renewals of tokens and leases, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  readonly eventStreamConnected = new Gauge({ name: 'vault_extproc_event_stream_connected', help: '1 while subscribed to Vault KV events', registers: [this.registry] });
  readonly eventStreamReconnects = this.counter('vault_extproc_event_stream_reconnects_total', 'Connections to the KV event stream after the first');
  readonly eventsReceived = this.counter('vault_extproc_events_received_total', 'KV event frames received (valid or not)');
  readonly workerRestarts = this.counter('vault_extproc_worker_restarts_total', 'Worker thread restarts after a crash (worker/supervisor.ts)');
  readonly workerUp = new Gauge({ name: 'vault_extproc_worker_up', help: '1 while the worker thread runs and is back (its auto-auth token held), 0 from a crash until then', registers: [this.registry] });
  // The persistent cache and stale answers (src/persist/): refused = a record that did not open (wrong_key, tampered, malformed).
  readonly persistRefused = new Counter({ name: 'vault_extproc_persist_refused_total', help: 'Persisted records refused at load and dropped, by reason (wrong_key, tampered, malformed)', labelNames: ['reason'], registers: [this.registry] });
  readonly persistLoaded = new Counter({ name: 'vault_extproc_persist_loaded_total', help: 'Records loaded from the persistent store at start, by kind (secret, token, lease, auto_auth, expired)', labelNames: ['kind'], registers: [this.registry] });
  readonly persistWrites = this.counter('vault_extproc_persist_writes_total', 'Records written to (or deleted from) the persistent store');
  readonly staleAnswers = this.counter('vault_extproc_stale_answers_total', 'Answers given stale (serve_stale) while Vault was unreachable or sealed, each with Warning: 110');
  // Vault Agent's templates (src/worker/templates/): renders by outcome (written, unchanged, error), commands by outcome (ok, failure).
  readonly templateRenders = new Counter({ name: 'vault_extproc_template_renders_total', help: 'Template renders, by outcome (written: the file changed; unchanged; error)', labelNames: ['outcome'], registers: [this.registry] });
  readonly templateCommands = new Counter({ name: 'vault_extproc_template_commands_total', help: 'Template commands run after a change, by outcome (ok, failure: non-zero exit, timeout or not started)', labelNames: ['outcome'], registers: [this.registry] });
  readonly capabilityRefreshes = new Counter({ name: 'vault_extproc_capability_refreshes_total', help: 'sys/capabilities-self checks of cached tokens, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  readonly streamDuration = new Histogram({
    name: 'vault_extproc_stream_duration_seconds',
    help: 'Lifetime of ext_proc streams (one per HTTP request), by how they were answered',
    labelNames: ['answer'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(cacheStats?: () => Array<{ cache: string; entries: number; bytes: number }>, telemetry: TelemetryConfig = defaultTelemetry(), autoAuth = false) {
    collectDefaultMetrics({ register: this.registry });
    this.vault = new VaultMetrics(telemetry, { runtimeText: () => this.runtimeText() });
    this.vault.startRuntime();
    // Vault's auth handler says "not authenticated" when it starts.
    if (autoAuth) this.vault.authStarting();
    const stats = cacheStats ?? (() => []);
    new Gauge({
      name: 'vault_extproc_cache_entries', help: 'Entries in each cache', labelNames: ['cache'], registers: [this.registry],
      collect() {
        for (const s of stats()) this.set({ cache: s.cache }, s.entries);
      },
    });
    new Gauge({
      name: 'vault_extproc_cache_bytes', help: 'Bytes held by each cache', labelNames: ['cache'], registers: [this.registry],
      collect() {
        for (const s of stats()) this.set({ cache: s.cache }, s.bytes);
      },
    });
  }

  /** Applies a metric update sent by the worker thread. */
  apply(update: WorkerMetric): void {
    switch (update.metric) {
      case 'auth_success': this.authSuccess.inc(); this.vault.authSuccess(); break;
      case 'auth_failure': this.authFailure.inc(); this.vault.authFailure(); break;
      case 'renewal':
        this.renewals.inc({ kind: update.kind, outcome: update.outcome });
        // Vault's auth handler counts a renewal of the auto-auth token as an auth success (or failure).
        if (update.kind === 'auth') {
          if (update.outcome === 'success') this.vault.authSuccess();
          else this.vault.authFailure();
        }
        break;
      case 'event_stream': this.eventStreamConnected.set(update.connected ? 1 : 0); if (update.reconnect) this.eventStreamReconnects.inc(); break;
      case 'event_received': this.eventsReceived.inc(); break;
      case 'capability_refresh': this.capabilityRefreshes.inc({ outcome: update.outcome }); break;
      case 'template_render': this.templateRenders.inc({ outcome: update.outcome }); break;
      case 'template_command': this.templateCommands.inc({ outcome: update.outcome }); break;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** `/agent/v1/metrics` and `/proxy/v1/metrics` as Vault Agent/Proxy answer them. */
  vaultAnswer(req: { method: string; rawQuery: string; accept: readonly string[] }): Promise<MetricsAnswer> {
    return this.vault.answer(req);
  }

  /** The process's runtime series (process_*, nodejs_*): what Vault's Prometheus form has as go_* and process_*. */
  private async runtimeText(): Promise<string> {
    const names = this.registry.getMetricsAsArray().map((m) => m.name).filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'));
    const parts = await Promise.all(names.map((n) => this.registry.getSingleMetricAsString(n)));
    return parts.map((p) => `${p}\n`).join('');
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  /** An admin-port counter that also counts in Vault's series. */
  private counted(name: string, help: string, also: () => void): { inc(): void } {
    const c = this.counter(name, help);
    return { inc: () => { c.inc(); also(); } };
  }
}

/** Metric updates the worker sends (it has no registry of its own). */
export type WorkerMetric =
  | { metric: 'auth_success' }
  | { metric: 'auth_failure' }
  | { metric: 'renewal'; kind: 'auth' | 'token' | 'lease'; outcome: 'success' | 'failure' }
  | { metric: 'event_stream'; connected: boolean; reconnect?: boolean }
  | { metric: 'event_received' }
  | { metric: 'capability_refresh'; outcome: 'ok' | 'revoked' | 'lost_paths' | 'error' }
  | { metric: 'template_render'; outcome: 'written' | 'unchanged' | 'error' }
  | { metric: 'template_command'; outcome: 'ok' | 'failure' };

/** What the fleet's gauges read at each scrape (src/fleet/fleet.ts). */
export interface FleetGaugeSource {
  /** Both fleet connections to Redis (commands, the stream follower) are up. */
  redisUp(): boolean;
  /** This replica holds the owner lease now (by its own clock: src/fleet/owner-lease.ts). */
  owner(): boolean;
  /** The invalidation follower has not heard from Redis for longer than max_stale_without_redis. */
  stale(): boolean;
}

/** L2 refusals by kind and reason (src/fleet/shared-store.ts), and the stream's gap reasons (src/fleet/invalidation-stream.ts). */
const FLEET_REFUSED_KINDS = ['static', 'lease', 'auto_auth'] as const;
const FLEET_REFUSED_REASONS = ['wrong_key', 'tampered', 'malformed', 'undecodable', 'misfiled'] as const;
const FLEET_GAP_REASONS = ['trimmed', 'lost', 'refused', 'malformed', 'unknown', 'replayed', 'apply_failed'] as const;

/**
 * Fleet mode's series (issue 16), registered only when a `fleet` block is set, in the process's
 * registry (Metrics.registry). The gauges are read at scrape time, so they never lag the state.
 * The counters start at 0 for every known label set, so a rate() shows from the first scrape.
 */
export class FleetMetrics {
  readonly refused: Counter<'kind' | 'reason'>;
  readonly streamGaps: Counter<'reason'>;
  readonly sharedReads: Counter<'outcome'>;

  constructor(registry: Registry, source: FleetGaugeSource) {
    new Gauge({
      name: 'vault_extproc_fleet_redis_up', help: '1 while both fleet connections to Redis (commands, the invalidation stream) are up', registers: [registry],
      collect() { this.set(source.redisUp() ? 1 : 0); },
    });
    new Gauge({
      name: 'vault_extproc_fleet_owner', help: '1 while this replica holds the fleet owner lease (it does the Vault-facing work), else 0', registers: [registry],
      collect() { this.set(source.owner() ? 1 : 0); },
    });
    new Gauge({
      name: 'vault_extproc_fleet_stale', help: '1 while the invalidation stream has not been heard from for longer than max_stale_without_redis', registers: [registry],
      collect() { this.set(source.stale() ? 1 : 0); },
    });
    this.refused = new Counter({
      name: 'vault_extproc_fleet_refused_total', help: 'Values read from the fleet cache in Redis (L2) refused, deleted and never served, by record kind and reason', labelNames: ['kind', 'reason'], registers: [registry],
    });
    this.sharedReads = new Counter({
      name: 'vault_extproc_fleet_shared_reads_total', help: 'Reads of the fleet cache in Redis (L2) for a request L1 could not answer, by outcome (hit: taken into L1 and answered; miss; raced: a removal came meanwhile, not taken)', labelNames: ['outcome'], registers: [registry],
    });
    this.streamGaps = new Counter({
      name: 'vault_extproc_fleet_stream_gaps_total', help: 'Gaps in the fleet invalidation stream (each drops L1), by reason', labelNames: ['reason'], registers: [registry],
    });
    for (const kind of FLEET_REFUSED_KINDS) for (const reason of FLEET_REFUSED_REASONS) this.refused.inc({ kind, reason }, 0);
    for (const reason of FLEET_GAP_REASONS) this.streamGaps.inc({ reason }, 0);
  }
}
