/**
 * The `telemetry` stanza as Vault 1.15's configutil reads it (parseTelemetry, SetupTelemetry),
 * for what Vault Agent and Vault Proxy do with it: the in-memory (JSON) and Prometheus forms of
 * `/agent/v1/metrics` and `/proxy/v1/metrics`. The sinks that push elsewhere (statsite, statsd,
 * circonus, dogstatsd, stackdriver) are not implemented: `check` says so, per key.
 */
import { parseDurationSeconds } from './duration.js';
import type { BlockReader } from './reader.js';

/** Whose names the metrics carry: `vault.agent.*` (Vault Agent) or `vault.proxy.*` (Vault Proxy). */
export type MetricsStyle = 'agent' | 'proxy';

export interface TelemetryConfig {
  /** A telemetry stanza was written (without one, Vault has no Prometheus sink). */
  present: boolean;
  style: MetricsStyle;
  /** Why this style: the key or stanza that decided it (for `check` and the docs). */
  styleReason: string;
  /** `prometheus_retention_time` in seconds: 24 h by default in a stanza, 0 (off) without a stanza. */
  prometheusRetentionSeconds: number;
  /** `metrics_prefix`, else "vault": the first part of every name. */
  serviceName: string;
  disableHostname: boolean;
  /** `enable_hostname_label`: a `host` label on every series. */
  enableHostnameLabel: boolean;
  /**
   * Gauges carry the host name as their second name part: Vault keeps that only with more than
   * one sink besides the in-memory one and `disable_hostname = false`.
   */
  hostnameInGaugeNames: boolean;
  /** `filter_default` (true): whether names no `prefix_filter` rule matches are kept. */
  filterDefault: boolean;
  /** `prefix_filter`: `+prefix` keeps, `-prefix` drops; the longest matching prefix decides. */
  prefixFilter: Array<{ prefix: string; allow: boolean }>;
  /** Read and checked as Vault reads them; Vault Agent/Proxy make no use of them either (server metrics). */
  usageGaugePeriodSeconds: number;
  maximumGaugeCardinality: number;
  leaseMetricsEpsilonSeconds: number;
  numLeaseMetricsBuckets: number;
}

/** Sinks Vault pushes metrics to and we do not: the keys that turn each on. */
const UNIMPLEMENTED_SINKS: Array<{ sink: string; keys: string[] }> = [
  { sink: 'statsite', keys: ['statsite_address'] },
  { sink: 'statsd', keys: ['statsd_address'] },
  {
    sink: 'circonus',
    keys: ['circonus_api_token', 'circonus_api_app', 'circonus_api_url', 'circonus_submission_interval', 'circonus_submission_url', 'circonus_check_id',
      'circonus_check_force_metric_activation', 'circonus_check_instance_id', 'circonus_check_search_tag', 'circonus_check_tags',
      'circonus_check_display_name', 'circonus_broker_id', 'circonus_broker_select_tag'],
  },
  { sink: 'dogstatsd', keys: ['dogstatsd_addr', 'dogstatsd_tags'] },
  { sink: 'stackdriver', keys: ['stackdriver_project_id', 'stackdriver_location', 'stackdriver_namespace', 'stackdriver_debug_logs'] },
];

/** Keys that shape Vault server metrics only: read and validated, no effect in Agent/Proxy (nor here). */
const SERVER_ONLY_KEYS = ['add_lease_metrics_namespace_labels', 'add_mount_point_rollback_metrics'];

export const TELEMETRY_DEFAULTS = {
  prometheusRetentionSeconds: 24 * 3600,
  usageGaugePeriodSeconds: 600,
  maximumGaugeCardinality: 500,
  leaseMetricsEpsilonSeconds: 3600,
  numLeaseMetricsBuckets: 168,
} as const;

/** What Vault Agent/Proxy run with when the file has no telemetry stanza. */
export function defaultTelemetry(style: MetricsStyle = 'proxy', styleReason = 'the default'): TelemetryConfig {
  return {
    present: false, style, styleReason,
    prometheusRetentionSeconds: 0, serviceName: 'vault', disableHostname: false, enableHostnameLabel: false, hostnameInGaugeNames: false,
    filterDefault: true, prefixFilter: [],
    usageGaugePeriodSeconds: TELEMETRY_DEFAULTS.usageGaugePeriodSeconds, maximumGaugeCardinality: TELEMETRY_DEFAULTS.maximumGaugeCardinality,
    leaseMetricsEpsilonSeconds: TELEMETRY_DEFAULTS.leaseMetricsEpsilonSeconds, numLeaseMetricsBuckets: TELEMETRY_DEFAULTS.numLeaseMetricsBuckets,
  };
}

export function readTelemetry(root: BlockReader): TelemetryConfig {
  const b = root.block('telemetry');
  const styleKey = b?.string('metrics_names');
  let style = styleOf(root);
  if (styleKey !== undefined) {
    if (styleKey === 'agent' || styleKey === 'proxy') style = { style: styleKey, reason: `telemetry { metrics_names = "${styleKey}" }` };
    else b!.error('metrics_names', `must be "agent" or "proxy", got ${JSON.stringify(styleKey)}`);
  }
  const config = defaultTelemetry(style.style, style.reason);
  if (!b) return config;
  config.present = true;

  config.prometheusRetentionSeconds = durationOr(b, 'prometheus_retention_time', TELEMETRY_DEFAULTS.prometheusRetentionSeconds, false);
  config.usageGaugePeriodSeconds = durationOr(b, 'usage_gauge_period', TELEMETRY_DEFAULTS.usageGaugePeriodSeconds, true);
  config.leaseMetricsEpsilonSeconds = durationOr(b, 'lease_metrics_epsilon', TELEMETRY_DEFAULTS.leaseMetricsEpsilonSeconds, true);
  // Vault: 0 (or absent) means the default.
  config.maximumGaugeCardinality = b.int('maximum_gauge_cardinality') || TELEMETRY_DEFAULTS.maximumGaugeCardinality;
  config.numLeaseMetricsBuckets = b.int('num_lease_metrics_buckets') || TELEMETRY_DEFAULTS.numLeaseMetricsBuckets;
  for (const key of SERVER_ONLY_KEYS) b.bool(key);
  for (const key of ['usage_gauge_period', 'maximum_gauge_cardinality', 'lease_metrics_epsilon', 'num_lease_metrics_buckets', ...SERVER_ONLY_KEYS]) {
    if (b.has(key)) b.warn(key, 'not applicable: it shapes Vault server metrics (usage gauges, lease expiry, rollback), which Vault Agent and Vault Proxy do not emit either; read and checked, no effect');
  }

  const prefix = b.string('metrics_prefix');
  if (prefix) config.serviceName = prefix;
  config.disableHostname = b.bool('disable_hostname') ?? false;
  config.enableHostnameLabel = b.bool('enable_hostname_label') ?? false;
  config.filterDefault = b.bool('filter_default') ?? true;
  for (const rule of stringList(b, 'prefix_filter')) {
    // Vault refuses these when it starts (parsePrefixFilter).
    if (rule === '') b.error('prefix_filter', 'Cannot have empty filter rule in prefix_filter');
    else if (rule[0] !== '+' && rule[0] !== '-') b.error('prefix_filter', `Filter rule must begin with either '+' or '-': ${JSON.stringify(rule)}`);
    else config.prefixFilter.push({ prefix: rule.slice(1), allow: rule[0] === '+' });
  }

  let sinks = config.prometheusRetentionSeconds !== 0 ? 1 : 0;
  for (const { sink, keys } of UNIMPLEMENTED_SINKS) {
    const written = keys.filter((k) => b.has(k));
    if (written.length === 0) continue;
    for (const key of written) b.accept(key);
    // Vault starts the sink when its address (circonus: token or submission URL) is set.
    const on = sink === 'circonus' ? b.has('circonus_api_token') || b.has('circonus_submission_url') : written.some((k) => /_addr(ess)?$|_project_id$/.test(k));
    if (on) sinks++;
    b.warn(written[0]!, `the ${sink} sink is not implemented by vault-extproc; no metrics are sent there (${written.join(', ')} ignored). `
      + 'Scrape /proxy/v1/metrics?format=prometheus through Envoy, or the admin /metrics, instead');
  }
  // SetupTelemetry: the host name stays in gauge names only with more than one sink.
  config.hostnameInGaugeNames = sinks > 1 && !config.disableHostname;
  if (sinks > 1 && !config.disableHostname) {
    b.warn('disable_hostname', 'telemetry.disable_hostname has been set to false. Recommended setting is true for Prometheus to avoid poorly named metrics.');
  }
  b.finish();
  return config;
}

/**
 * Agent or Proxy names, from the config alone (Vault knows by its command): a stanza or key only
 * Vault Agent reads makes it an Agent config; anything else is read as Vault Proxy's.
 */
function styleOf(root: BlockReader): { style: MetricsStyle; reason: string } {
  for (const key of ['template', 'template_config', 'exec', 'env_template']) {
    if (root.has(key)) return { style: 'agent', reason: `the ${key} stanza (Vault Agent only)` };
  }
  for (const body of bodies(root.raw['cache'])) {
    for (const key of ['use_auto_auth_token', 'enforce_consistency', 'when_inconsistent']) {
      if (body[key] !== undefined) return { style: 'agent', reason: `cache { ${key} } (Vault Agent only)` };
    }
  }
  return { style: 'proxy', reason: 'no Vault Agent-only stanza (template, template_config, exec, env_template, cache { use_auto_auth_token })' };
}

function bodies(v: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(v)) return v.flatMap(bodies);
  return typeof v === 'object' && v !== null ? [v as Record<string, unknown>] : [];
}

/** A duration key; `"none"` is 0 where Vault allows it. A bad value is Vault's start-up error. */
function durationOr(b: BlockReader, key: string, fallback: number, noneAllowed: boolean): number {
  if (!b.has(key)) return fallback;
  const raw = b.raw[key];
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  b.accept(key);
  if (noneAllowed && v === 'none') return 0;
  try {
    const s = parseDurationSeconds(v);
    if (s < 0) throw new Error('negative');
    return s;
  } catch {
    b.error(key, `must be a duration such as "30s", "5m" or "24h"${noneAllowed ? ' (or "none")' : ''}, got ${JSON.stringify(v)}`);
    return fallback;
  }
}

function stringList(b: BlockReader, key: string): string[] {
  if (!b.has(key)) return [];
  b.accept(key);
  const v = b.raw[key];
  const list = Array.isArray(v) ? v.flat() : [v];
  if (!list.every((x) => typeof x === 'string')) {
    b.error(key, 'must be a list of strings');
    return [];
  }
  return list as string[];
}
