import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';

const BASE = `vault {
  address = "http://127.0.0.1:8200"
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`;

function load(extra: string) {
  const r = parseConfig(`${BASE}${extra}`, 'test.hcl', {});
  return { telemetry: r.config.telemetry!, problems: r.problems.map((p) => `${p.severity}: ${p.location}: ${p.message}`) };
}

describe('config: the telemetry stanza (Vault 1.15 configutil)', () => {
  it('without a stanza: no Prometheus (retention 0, as Vault Proxy without one), names "vault", nothing reported', () => {
    const { telemetry, problems } = load('');
    expect(problems.filter((p) => p.includes('telemetry'))).to.deep.equal([]);
    expect(telemetry).to.include({ present: false, prometheusRetentionSeconds: 0, serviceName: 'vault', filterDefault: true, style: 'proxy' });
  });

  it('an empty stanza: Prometheus kept 24 h, usage_gauge_period 10m, maximum_gauge_cardinality 500, lease_metrics_epsilon 1h, 168 buckets', () => {
    const { telemetry, problems } = load('telemetry {}\n');
    expect(problems).to.deep.equal([]);
    expect(telemetry).to.include({
      present: true, prometheusRetentionSeconds: 86400, usageGaugePeriodSeconds: 600, maximumGaugeCardinality: 500, leaseMetricsEpsilonSeconds: 3600, numLeaseMetricsBuckets: 168,
    });
  });

  it('reads every key; those that shape only Vault server metrics are "not applicable" (Agent/Proxy do not use them either)', () => {
    const { telemetry, problems } = load(`telemetry {
  prometheus_retention_time = "30s"
  disable_hostname = true
  enable_hostname_label = true
  metrics_prefix = "edge"
  usage_gauge_period = "none"
  maximum_gauge_cardinality = 0
  lease_metrics_epsilon = "2h"
  num_lease_metrics_buckets = 10
  add_lease_metrics_namespace_labels = true
  add_mount_point_rollback_metrics = false
  filter_default = false
  prefix_filter = ["+edge.agent", "-edge.runtime"]
}
`);
    expect(problems.map((p) => p.replace(/: not applicable: .*/, ''))).to.deep.equal([
      'warning: telemetry > usage_gauge_period', 'warning: telemetry > maximum_gauge_cardinality', 'warning: telemetry > lease_metrics_epsilon',
      'warning: telemetry > num_lease_metrics_buckets', 'warning: telemetry > add_lease_metrics_namespace_labels', 'warning: telemetry > add_mount_point_rollback_metrics',
    ]);
    expect(telemetry).to.deep.include({
      prometheusRetentionSeconds: 30, disableHostname: true, enableHostnameLabel: true, serviceName: 'edge', usageGaugePeriodSeconds: 0,
      maximumGaugeCardinality: 500, leaseMetricsEpsilonSeconds: 7200, numLeaseMetricsBuckets: 10, filterDefault: false,
      prefixFilter: [{ prefix: 'edge.agent', allow: true }, { prefix: 'edge.runtime', allow: false }],
    });
  });

  it('prometheus_retention_time = 0 turns the Prometheus form off', () => {
    expect(load('telemetry {\n  prometheus_retention_time = 0\n}\n').telemetry.prometheusRetentionSeconds).to.equal(0);
  });

  it('refuses what Vault refuses at start: a bad duration, a prefix_filter rule without + or -, an empty rule, two stanzas', () => {
    expect(load('telemetry {\n  prometheus_retention_time = "soon"\n}\n').problems.join('\n')).to.match(/^error: telemetry > prometheus_retention_time: must be a duration/m);
    expect(load('telemetry {\n  prefix_filter = ["vault.agent"]\n}\n').problems).to.deep.equal([
      'error: telemetry > prefix_filter: Filter rule must begin with either \'+\' or \'-\': "vault.agent"',
    ]);
    expect(load('telemetry {\n  prefix_filter = [""]\n}\n').problems).to.deep.equal(['error: telemetry > prefix_filter: Cannot have empty filter rule in prefix_filter']);
    expect(load('telemetry {}\ntelemetry {}\n').problems.join('\n')).to.match(/^error: telemetry: only one telemetry block is allowed, found 2/m);
  });

  it('reports each sink it does not implement, with the keys, and reports unknown keys', () => {
    const { problems } = load(`telemetry {
  statsd_address = "127.0.0.1:8125"
  dogstatsd_addr = "127.0.0.1:8126"
  dogstatsd_tags = ["a:b"]
  circonus_api_token = "x"
  stackdriver_project_id = "p"
  statsite_address = "127.0.0.1:8125"
  prometheus_retention = "1h"
}
`);
    const sinks = problems.filter((p) => p.includes('sink is not implemented'));
    expect(sinks.map((p) => /the (\w+) sink/.exec(p)![1])).to.deep.equal(['statsite', 'statsd', 'circonus', 'dogstatsd', 'stackdriver']);
    expect(sinks.every((p) => p.startsWith('warning: telemetry > '))).to.equal(true);
    expect(problems.find((p) => p.includes('dogstatsd'))).to.include('(dogstatsd_addr, dogstatsd_tags ignored)');
    expect(problems).to.include('warning: telemetry > prometheus_retention: unknown key; it is ignored');
    // More than one sink and disable_hostname = false: Vault's own warning, and gauges named with the host.
    expect(problems).to.include('warning: telemetry > disable_hostname: telemetry.disable_hostname has been set to false. Recommended setting is true for Prometheus to avoid poorly named metrics.');
  });

  it('the host name stays in gauge names only with more than one sink and disable_hostname = false, as SetupTelemetry decides', () => {
    expect(load('telemetry {}\n').telemetry.hostnameInGaugeNames).to.equal(false);
    expect(load('telemetry {\n  statsd_address = "127.0.0.1:1"\n}\n').telemetry.hostnameInGaugeNames).to.equal(true);
    expect(load('telemetry {\n  statsd_address = "127.0.0.1:1"\n  disable_hostname = true\n}\n').telemetry.hostnameInGaugeNames).to.equal(false);
    expect(load('telemetry {\n  statsd_address = "127.0.0.1:1"\n  prometheus_retention_time = 0\n}\n').telemetry.hostnameInGaugeNames).to.equal(false);
  });

  describe('Agent or Proxy names', () => {
    it('a config with Vault Agent-only stanzas (template, exec, env_template, template_config) is an Agent config', () => {
      for (const stanza of ['template {\n  contents = "x"\n  destination = "/tmp/x"\n}\n', 'exec {\n  command = ["true"]\n}\n', 'template_config {\n  exit_on_retry_failure = true\n}\n']) {
        expect(load(stanza).telemetry.style, stanza).to.equal('agent');
      }
    });

    it('cache { use_auto_auth_token } (Vault Agent only) makes an Agent config', () => {
      const { telemetry } = load('cache {\n  use_auto_auth_token = true\n}\n');
      expect(telemetry.style).to.equal('agent');
      expect(telemetry.styleReason).to.include('use_auto_auth_token');
    });

    it('api_proxy without Agent-only stanzas, or nothing at all, is a Proxy config', () => {
      expect(load('api_proxy {\n  use_auto_auth_token = true\n}\ncache {}\n').telemetry.style).to.equal('proxy');
      expect(load('').telemetry.style).to.equal('proxy');
    });

    it('telemetry { metrics_names } (ours) decides over the stanzas; another value is an error', () => {
      expect(load('template {\n  contents = "x"\n  destination = "/tmp/x"\n}\ntelemetry {\n  metrics_names = "proxy"\n}\n').telemetry.style).to.equal('proxy');
      expect(load('telemetry {\n  metrics_names = "agent"\n}\n').telemetry.style).to.equal('agent');
      expect(load('telemetry {\n  metrics_names = "server"\n}\n').problems).to.include('error: telemetry > metrics_names: must be "agent" or "proxy", got "server"');
    });
  });
});
