import { hostname as osHostname } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import type { TelemetryConfig } from '../config/telemetry.js';

/**
 * Vault Agent/Proxy's telemetry as they serve it on `/agent/v1/metrics` and `/proxy/v1/metrics`:
 * go-metrics' global registry (service name first, host name and filters as SetupTelemetry sets
 * them) fanned out to an in-memory sink (10 s intervals kept for a minute; the JSON form shows the
 * last finished one) and, when `prometheus_retention_time` is not 0, a Prometheus sink whose series
 * go away when not updated within the retention time. Written from go-metrics' documented
 * behaviour; no code of it is used.
 */

export interface MetricLabel {
  name: string;
  value: string;
}

/** What the metrics endpoint answers. */
export interface MetricsAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface Sampled {
  name: string;
  labels: MetricLabel[];
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
}

interface Interval {
  startMs: number;
  gauges: Map<string, { name: string; value: number; labels: MetricLabel[] }>;
  points: Map<string, number[]>;
  counters: Map<string, Sampled>;
  samples: Map<string, Sampled>;
}

type PromKind = 'counter' | 'gauge' | 'summary';

interface PromSeries {
  kind: PromKind;
  name: string;
  labels: MetricLabel[];
  updatedMs: number;
  value: number;
  /** Summaries: observations of the last 10 s (client_golang's MaxAge), with their times. */
  window?: Array<{ atMs: number; v: number }>;
  sum?: number;
  count?: number;
}

const INTERVAL_MS = 10_000;
const RETAIN_MS = 60_000;
const MAX_INTERVALS = RETAIN_MS / INTERVAL_MS;
const SUMMARY_MAX_AGE_MS = 10_000;
const QUANTILES = [0.5, 0.9, 0.99];

export interface VaultMetricsOptions {
  now?: () => number;
  hostname?: string;
  /** Prometheus text of the process's own runtime series (process_*, nodejs_*), appended as Vault appends go_* and process_*. */
  runtimeText?: () => Promise<string>;
}

export class VaultMetrics {
  private readonly now: () => number;
  private readonly hostname: string;
  private readonly intervals: Interval[] = [];
  private readonly prom = new Map<string, PromSeries>();
  private readonly signifier: string;

  constructor(readonly config: TelemetryConfig, private readonly opts: VaultMetricsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.hostname = opts.hostname ?? osHostname();
    this.signifier = config.style;
  }

  get prometheusEnabled(): boolean {
    return this.config.prometheusRetentionSeconds !== 0;
  }

  // --- Vault Agent/Proxy's own series (command/agentproxyshared) ---

  /** The auto-auth handler started: not authenticated yet (Vault 1.18's `<agent|proxy>.authenticated`). */
  authStarting(): void {
    this.setGauge([this.signifier, 'authenticated'], 0);
  }

  authSuccess(): void {
    this.incrCounter([this.signifier, 'auth', 'success'], 1);
    this.setGauge([this.signifier, 'authenticated'], 1);
  }

  authFailure(): void {
    this.incrCounter([this.signifier, 'auth', 'failure'], 1);
    this.setGauge([this.signifier, 'authenticated'], 0);
  }

  // The API proxy handler counts under "agent" in Vault Proxy too (cache/handler.go), so do we.

  /** An answer with a status below 400, from Vault (a cache miss: Vault Proxy counts one even without a cache) or from a cache. */
  proxySuccess(fromCache: boolean): void {
    this.incrCounter(['agent', 'proxy', 'success'], 1);
    this.incrCounter(['agent', 'cache', fromCache ? 'hit' : 'miss'], 1);
  }

  /** Vault answered with an error status (400 and above). */
  proxyClientError(): void {
    this.incrCounter(['agent', 'proxy', 'client_error'], 1);
  }

  /** No answer from Vault. */
  proxyError(): void {
    this.incrCounter(['agent', 'proxy', 'error'], 1);
  }

  // --- go-metrics' Metrics: names, host name, filters ---

  incrCounter(key: string[], val: number, labels: MetricLabel[] = []): void {
    const l = this.config.enableHostnameLabel && this.hostname ? [...labels, { name: 'host', value: this.hostname }] : labels;
    const k = [this.config.serviceName, ...key];
    if (!this.allowed(k)) return;
    const v = Math.fround(val);
    this.aggregate(this.interval().counters, k, l, v);
    this.promUpdate('counter', k, l, (s) => { s.value += v; });
  }

  setGauge(key: string[], val: number, labels: MetricLabel[] = []): void {
    let l = labels;
    let k = key;
    if (this.hostname) {
      if (this.config.enableHostnameLabel) l = [...labels, { name: 'host', value: this.hostname }];
      else if (this.config.hostnameInGaugeNames) k = [this.hostname, ...key];
    }
    k = [this.config.serviceName, ...k];
    if (!this.allowed(k)) return;
    const v = Math.fround(val);
    const { hash, name } = flatten(k, l);
    this.interval().gauges.set(hash, { name, value: v, labels: l });
    this.promUpdate('gauge', k, l, (s) => { s.value = v; });
  }

  addSample(key: string[], val: number, labels: MetricLabel[] = []): void {
    const l = this.config.enableHostnameLabel && this.hostname ? [...labels, { name: 'host', value: this.hostname }] : labels;
    const k = [this.config.serviceName, ...key];
    if (!this.allowed(k)) return;
    const v = Math.fround(val);
    this.aggregate(this.interval().samples, k, l, v);
    const at = this.now();
    this.promUpdate('summary', k, l, (s) => {
      s.window!.push({ atMs: at, v });
      s.sum! += v;
      s.count! += 1;
    });
  }

  private allowed(key: string[]): boolean {
    const name = key.join('.');
    let best: { prefix: string; allow: boolean } | undefined;
    for (const rule of this.config.prefixFilter) {
      if (name.startsWith(rule.prefix) && (!best || rule.prefix.length >= best.prefix.length)) best = rule;
    }
    return best ? best.allow : this.config.filterDefault;
  }

  // --- the in-memory sink ---

  private interval(): Interval {
    const start = Math.floor(this.now() / INTERVAL_MS) * INTERVAL_MS;
    const last = this.intervals[this.intervals.length - 1];
    if (last && last.startMs === start) return last;
    const fresh: Interval = { startMs: start, gauges: new Map(), points: new Map(), counters: new Map(), samples: new Map() };
    this.intervals.push(fresh);
    if (this.intervals.length >= MAX_INTERVALS) this.intervals.splice(0, this.intervals.length - MAX_INTERVALS);
    return fresh;
  }

  private aggregate(into: Map<string, Sampled>, key: string[], labels: MetricLabel[], v: number): void {
    const { hash, name } = flatten(key, labels);
    let agg = into.get(hash);
    if (!agg) {
      agg = { name, labels, count: 0, sum: 0, sumSq: 0, min: 0, max: 0 };
      into.set(hash, agg);
    }
    agg.count++;
    agg.sum += v;
    agg.sumSq += v * v;
    if (v < agg.min || agg.count === 1) agg.min = v;
    if (v > agg.max || agg.count === 1) agg.max = v;
  }

  /** go-metrics' DisplayMetrics: the last finished interval (the current one while it is the only one), as JSON. */
  json(): string {
    this.interval();
    const n = this.intervals.length;
    const iv = this.intervals[n === 1 ? 0 : n - 2]!;
    const byHash = <T>(m: Map<string, T>): Array<[string, T]> => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sampled = (m: Map<string, Sampled>): string[] => byHash(m).map(([, s]) => {
      const mean = s.count === 0 ? 0 : s.sum / s.count;
      const div = s.count * (s.count - 1);
      const stddev = div === 0 ? 0 : Math.sqrt((s.count * s.sumSq - s.sum ** 2) / div);
      return `{"Name":${JSON.stringify(s.name)},"Count":${s.count},"Rate":${goJson(s.sum / (INTERVAL_MS / 1000))},"Sum":${goJson(s.sum)},`
        + `"Min":${goJson(s.min)},"Max":${goJson(s.max)},"Mean":${goJson(mean)},"Stddev":${goJson(stddev)},"Labels":${labelsJson(s.labels)}}`;
    });
    const gauges = byHash(iv.gauges).map(([, g]) => `{"Name":${JSON.stringify(g.name)},"Value":${float32Json(g.value)},"Labels":${labelsJson(g.labels)}}`);
    const points = [...iv.points.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, ps]) => `{"Name":${JSON.stringify(name)},"Points":[${ps.map(float32Json).join(',')}]}`);
    return `{"Timestamp":${JSON.stringify(goTimeString(iv.startMs))},"Gauges":[${gauges.join(',')}],"Points":[${points.join(',')}],`
      + `"Counters":[${sampled(iv.counters).join(',')}],"Samples":[${sampled(iv.samples).join(',')}]}`;
  }

  // --- the Prometheus sink ---

  private promUpdate(kind: PromKind, key: string[], labels: MetricLabel[], update: (s: PromSeries) => void): void {
    if (!this.prometheusEnabled) return;
    const name = key.join('_').replace(/[ .=\-/]/g, '_');
    const hash = `${kind}\u0000${name}${labels.map((l) => `;${l.name}=${l.value}`).join('')}`;
    let s = this.prom.get(hash);
    if (!s) {
      s = { kind, name, labels: [...labels].sort((a, b) => (a.name < b.name ? -1 : 1)), updatedMs: 0, value: 0, ...(kind === 'summary' ? { window: [], sum: 0, count: 0 } : {}) };
      this.prom.set(hash, s);
    }
    update(s);
    s.updatedMs = this.now();
  }

  /** The Vault series in Prometheus' text format (families sorted by name, as Gather does). */
  prometheusText(): string {
    const now = this.now();
    const retentionMs = this.config.prometheusRetentionSeconds * 1000;
    const families = new Map<string, PromSeries[]>();
    for (const [hash, s] of this.prom) {
      if (s.updatedMs + retentionMs < now) {
        this.prom.delete(hash);
        continue;
      }
      const list = families.get(s.name) ?? [];
      list.push(s);
      families.set(s.name, list);
    }
    const out: string[] = [];
    for (const name of [...families.keys()].sort()) {
      const series = families.get(name)!;
      out.push(`# HELP ${name} ${name}`, `# TYPE ${name} ${series[0]!.kind}`);
      for (const s of series) {
        if (s.kind !== 'summary') {
          out.push(`${name}${labelText(s.labels)} ${goFloat(s.value)}`);
          continue;
        }
        s.window = s.window!.filter((o) => o.atMs + SUMMARY_MAX_AGE_MS > now);
        const sorted = s.window.map((o) => o.v).sort((a, b) => a - b);
        for (const q of QUANTILES) {
          const v = sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
          out.push(`${name}${labelText(s.labels, { name: 'quantile', value: String(q) })} ${goFloat(v)}`);
        }
        out.push(`${name}_sum${labelText(s.labels)} ${goFloat(s.sum!)}`, `${name}_count${labelText(s.labels)} ${s.count}`);
      }
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }

  /**
   * Vault Agent/Proxy's handleMetrics: GET only; `?format=prometheus` (or an Accept header asking
   * for OpenMetrics or `prometheus/telemetry`) for Prometheus text, JSON otherwise.
   */
  async answer(req: { method: string; rawQuery: string; accept: readonly string[] }): Promise<MetricsAnswer> {
    if (req.method !== 'GET') return { status: 405, contentType: 'application/json', body: '{"errors":[]}\n' };
    const form = parseForm(req.rawQuery);
    if ('error' in form) return { status: 400, contentType: 'application/json', body: `${JSON.stringify({ errors: [form.error] })}\n` };
    let format = form.values.get('format') ?? '';
    if (format === '') format = formatFromAccept(req.accept);
    if (format === 'prometheus') {
      if (!this.prometheusEnabled) return { status: 400, contentType: 'text/plain', body: 'prometheus is not enabled' };
      const runtime = (await this.opts.runtimeText?.()) ?? '';
      return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: mergeText(this.prometheusText(), runtime) };
    }
    if (format !== '') return { status: 400, contentType: 'text/plain', body: `metric response format ${goQuote(format)} unknown` };
    return { status: 200, contentType: 'application/json', body: this.json() };
  }

  /**
   * go-metrics' runtime series, every second, with what Node.js has of them: `num_goroutines`
   * (active handles and requests), `alloc_bytes` (V8 heap in use), `sys_bytes` (resident set),
   * `total_gc_runs`, `total_gc_pause_ns` and the `gc_pause_ns` sample (V8's collections on the
   * main thread). Go's `malloc_count`, `free_count` and `heap_objects` have no Node.js counterpart.
   */
  startRuntime(): () => void {
    let gcRuns = 0;
    let gcPauseNs = 0;
    const pauses: number[] = [];
    let observer: PerformanceObserver | undefined;
    try {
      observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          gcRuns++;
          gcPauseNs += e.duration * 1e6;
          pauses.push(e.duration * 1e6);
        }
      });
      observer.observe({ entryTypes: ['gc'] });
    } catch {
      observer = undefined;
    }
    // The timer holds this object weakly: a registry nobody uses any more stops its own timer.
    const self = new WeakRef<VaultMetrics>(this);
    const stop = (): void => {
      clearInterval(timer);
      observer?.disconnect();
    };
    const emit = (): void => {
      const m = self.deref();
      if (!m) return stop();
      const mem = process.memoryUsage();
      const active = typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().length : 0;
      m.setGauge(['runtime', 'num_goroutines'], active);
      m.setGauge(['runtime', 'alloc_bytes'], mem.heapUsed);
      m.setGauge(['runtime', 'sys_bytes'], mem.rss);
      m.setGauge(['runtime', 'total_gc_pause_ns'], gcPauseNs);
      m.setGauge(['runtime', 'total_gc_runs'], gcRuns);
      for (const p of pauses.splice(0)) m.addSample(['runtime', 'gc_pause_ns'], p);
    };
    // Once at once (go-metrics waits a second: a scrape right after start would miss them), then every second.
    const timer = setInterval(emit, 1000);
    timer.unref();
    emit();
    this.stopRuntime = stop;
    return stop;
  }

  private stopRuntime: (() => void) | undefined;

  /** Stops the runtime series. */
  close(): void {
    this.stopRuntime?.();
  }
}

/** go-metrics' flattened name (spaces become `_`) and its key with labels. */
function flatten(key: string[], labels: MetricLabel[]): { hash: string; name: string } {
  const name = key.join('.').replace(/ /g, '_');
  return { name, hash: name + labels.map((l) => `;${l.name}=${l.value}`.replace(/ /g, '_')).join('') };
}

/** metricsutil.FormatFromRequest: the first Accept line naming OpenMetrics, or any line naming `prometheus/telemetry`. */
export function formatFromAccept(accept: readonly string[]): string {
  if (accept.length === 0) return '';
  if (accept[0]!.startsWith('application/openmetrics-text')) return 'prometheus';
  return accept.some((a) => a.includes('prometheus/telemetry')) ? 'prometheus' : '';
}

/** Go's Request.ParseForm for a GET: the query's first value per key, or the first error Go reports. */
function parseForm(raw: string): { values: Map<string, string> } | { error: string } {
  const values = new Map<string, string>();
  let error: string | undefined;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      error ??= 'invalid semicolon separator in query';
      continue;
    }
    const eq = part.indexOf('=');
    const k = goQueryUnescape(eq === -1 ? part : part.slice(0, eq));
    const v = goQueryUnescape(eq === -1 ? '' : part.slice(eq + 1));
    if ('error' in k || 'error' in v) {
      error ??= ('error' in k ? k.error : (v as { error: string }).error);
      continue;
    }
    if (!values.has(k.value)) values.set(k.value, v.value);
  }
  return error !== undefined ? { error } : { values };
}

function goQueryUnescape(s: string): { value: string } | { error: string } {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        const bad = s.slice(i, i + 3);
        return { error: `invalid URL escape ${goQuote(bad)}` };
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return { value: Buffer.from(bytes).toString('utf8') };
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Vault's series first, then the runtime's, each family once. */
function mergeText(vault: string, runtime: string): string {
  return vault + runtime;
}

function labelsJson(labels: MetricLabel[]): string {
  const o: Record<string, string> = {};
  for (const l of labels) o[l.name] = l.value;
  return JSON.stringify(o);
}

function labelText(labels: MetricLabel[], extra?: MetricLabel): string {
  const all = extra ? [...labels, extra] : labels;
  if (all.length === 0) return '';
  return `{${all.map((l) => `${l.name}="${l.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** A float32 as Go's encoding/json writes it: the shortest decimal that reads back as the same float32. */
export function float32Json(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return goJson(s);
  }
  return goJson(v);
}

/** A float64 as Go's encoding/json writes it (the same shortest digits and exponent thresholds as JavaScript). */
function goJson(v: number): string {
  return Number.isFinite(v) ? JSON.stringify(v) : 'null';
}

/** A float as Prometheus' Go text encoder writes it: strconv.FormatFloat(v, 'g', -1, 64). */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return String(v);
}

/** Go's time.Time.String() in UTC, whole seconds: `2006-01-02 15:04:05 +0000 UTC`. */
function goTimeString(ms: number): string {
  const iso = new Date(Math.round(ms / 1000) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}
