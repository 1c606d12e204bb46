/**
 * Every key of Vault Proxy's and Vault Agent's config (1.15.6, plus the later keys vault-extproc
 * reads), each with a sample value in its place. `keyTable()` reads each sample with the config
 * reader itself and reports what `check` says about the key: nothing (it works), or the warning or
 * error the reader gives, which is the reason. docs/config-keys.md is generated from it
 * (scripts/config-keys.mjs) and a test fails when the two disagree, or when a key of Vault's own
 * config structs is missing here, or when the reader calls one of these keys unknown.
 */
import { parseConfig } from './load.js';
import type { Problem } from './problems.js';

export type Used = 'proxy' | 'agent' | 'both';

export interface KeySample {
  /** `block > key`: `listener > tls_cert_file`; an auth method's keys name it: `auto_auth > method "aws" > config > region`. */
  key: string;
  /** The key as problem locations read with labels left out (default: key). */
  match?: string;
  in: Used;
  /** The config text with the key. */
  hcl: string;
}

export type KeyStatus = 'works' | 'differs' | 'not applicable' | 'not implemented' | 'refused' | 'unknown';

export interface KeyRow {
  key: string;
  in: Used;
  status: KeyStatus;
  /** What `check` says (the reason), empty when it works silently. */
  why: string;
}

interface Slots {
  top?: string;
  /** Replaces the whole method block. */
  methodBlock?: string;
  vault?: string;
  method?: string;
  methodConfig?: string;
  sink?: string;
  sinkConfig?: string;
  autoAuth?: string;
  listener?: string;
  /** Replaces the listener's `tls_disable = true` line. */
  listenerTls?: string;
  extra?: string;
}

/** A valid Proxy-style config, with each slot's lines put in place. */
export function baseConfig(s: Slots = {}): string {
  return `${s.top ?? ''}
vault {
  address = "http://127.0.0.1:8200"
${s.vault ?? ''}
}
auto_auth {
${s.methodBlock ?? `  method "approle" {
${s.method ?? ''}
    config = {
      role_id_file_path = "/tmp/r"
      secret_id_file_path = "/tmp/s"
${s.methodConfig ?? ''}
    }
  }`}
  sink "file" {
${s.sink ?? ''}
    config = {
      path = "/tmp/t"
${s.sinkConfig ?? ''}
    }
  }
${s.autoAuth ?? ''}
}
listener "tcp" {
  address = "127.0.0.1:8100"
${s.listenerTls ?? '  tls_disable = true'}
${s.listener ?? ''}
}
${s.extra ?? ''}
`;
}

const TLS_FILES = '  tls_cert_file = "/tmp/c.pem"\n  tls_key_file = "/tmp/k.pem"';

function samples(): KeySample[] {
  const out: KeySample[] = [];
  const add = (key: string, used: Used, slots: Slots): void => { out.push({ key, in: used, hcl: baseConfig(slots) }); };
  const top: Array<[string, Used, string]> = [
    ['pid_file', 'both', '"/tmp/vx.pid"'], ['exit_after_auth', 'both', 'false'],
    ['disable_idle_connections', 'both', '["auto-auth"]'], ['disable_keep_alives', 'both', '["proxying"]'],
    ['log_level', 'both', '"debug"'], ['log_format', 'both', '"json"'], ['log_file', 'both', '"/tmp/vx.log"'],
    ['log_rotate_bytes', 'both', '1048576'], ['log_rotate_duration', 'both', '"24h"'], ['log_rotate_max_files', 'both', '3'],
    ['disable_mlock', 'both', 'true'], ['cluster_name', 'both', '"c1"'], ['administrative_namespace_path', 'both', '"admin/"'],
    ['default_max_request_duration', 'both', '"90s"'], ['namespace', 'proxy', '"ns1"'],
  ];
  for (const [k, used, v] of top) add(k, used, { top: `${k} = ${v}` });
  const blocks: Array<[string, Used, string]> = [
    ['seal', 'both', 'seal "transit" {\n  address = "http://127.0.0.1:8200"\n}'],
    ['entropy', 'both', 'entropy "seal" {\n  mode = "augmentation"\n}'],
    ['kms_library', 'both', 'kms_library "pkcs11" {\n  name = "n"\n  library = "/l.so"\n}'],
    ['cloud', 'both', 'cloud {\n  resource_id = "r"\n}'],
    ['hcp_link', 'both', 'hcp_link {\n  resource_id = "r"\n}'],
  ];
  for (const [k, used, text] of blocks) add(k, used, { extra: text });
  const vault: Array<[string, string]> = [
    ['ca_cert', '"/tmp/ca.pem"'], ['ca_path', '"/tmp/cas"'], ['client_cert', '"/tmp/c.pem"\n  client_key = "/tmp/k.pem"'],
    ['client_key', '"/tmp/k.pem"\n  client_cert = "/tmp/c.pem"'], ['tls_skip_verify', 'false'], ['tls_server_name', '"vault.example"'],
    ['namespace', '"ns1"'],
  ];
  for (const [k, v] of vault) add(`vault > ${k}`, 'both', { vault: `  ${k} = ${v}` });
  add('vault > retry', 'both', { vault: '  retry {\n  }' });
  add('vault > retry > num_retries', 'both', { vault: '  retry {\n    num_retries = 5\n  }' });
  add('auto_auth > enable_reauth_on_new_credentials', 'both', { autoAuth: '  enable_reauth_on_new_credentials = true' });
  const method: Array<[string, string]> = [
    ['type', '"approle"'], ['mount_path', '"auth/approle2"'], ['namespace', '"ns1"'], ['wrap_ttl', '"5m"'],
    ['min_backoff', '"2s"'], ['max_backoff', '"2m"'], ['exit_on_err', 'true'],
  ];
  for (const [k, v] of method) {
    // wrap_ttl on the method needs the login's token to go nowhere else.
    add(`auto_auth > method > ${k}`, 'both', { method: `    ${k} = ${v}` });
  }
  add('auto_auth > method > config', 'both', {});
  const sink: Array<[string, string]> = [
    ['type', '"file"'], ['wrap_ttl', '"5m"'], ['dh_type', '"curve25519"\n    dh_path = "/tmp/dh.json"'], ['dh_path', '"/tmp/dh.json"\n    dh_type = "curve25519"'],
    ['derive_key', 'true\n    dh_type = "curve25519"\n    dh_path = "/tmp/dh.json"'], ['aad', '"x"\n    dh_type = "curve25519"\n    dh_path = "/tmp/dh.json"'],
    ['aad_env_var', '"VX_AAD"\n    dh_type = "curve25519"\n    dh_path = "/tmp/dh.json"'],
  ];
  for (const [k, v] of sink) add(`auto_auth > sink > ${k}`, 'both', { sink: `    ${k} = ${v}` });
  for (const [k, v] of [['path', ''], ['mode', '0600'], ['uid', '1000'], ['gid', '1000']] as const) {
    if (v !== '') add(`auto_auth > sink > config > ${k}`, 'both', { sinkConfig: `      ${k} = ${v}` });
    else add(`auto_auth > sink > config > ${k}`, 'both', {});
  }
  for (const [k, v] of [['use_auto_auth_token', 'true'], ['enforce_consistency', '"always"'], ['when_inconsistent', '"retry"'], ['prepend_configured_namespace', 'false']] as const) {
    add(`api_proxy > ${k}`, k === 'prepend_configured_namespace' ? 'proxy' : 'both', { extra: `api_proxy {\n  ${k} = ${v}\n}` });
  }
  add('api_proxy', 'both', { extra: 'api_proxy {\n}' });
  add('cache', 'both', { extra: 'cache {\n}' });
  const cache: Array<[string, Used, string]> = [
    ['use_auto_auth_token', 'agent', 'true'], ['enforce_consistency', 'agent', '"always"'], ['when_inconsistent', 'agent', '"retry"'],
    ['cache_static_secrets', 'proxy', 'true'], ['disable_caching_dynamic_secrets', 'proxy', 'false'],
    ['static_secret_token_capability_refresh_interval', 'proxy', '"5m"'],
  ];
  for (const [k, used, v] of cache) add(`cache > ${k}`, used, { extra: `cache {\n  ${k} = ${v}\n}` });
  // Our persist blocks need a key source (never inside the store, unlike Vault Agent's): the samples name one.
  add('cache > persist', 'both', { extra: 'cache {\n  persist "kubernetes" {\n    path = "/vault/agent-cache"\n    key_file = "/tmp/persist.key"\n  }\n}' });
  for (const [k, v] of [['type', '"kubernetes"'], ['path', '"/vault/agent-cache"'], ['keep_after_import', 'true'], ['exit_on_err', 'true'], ['service_account_token_file', '"/tmp/sa"']] as const) {
    add(`cache > persist > ${k}`, 'both', { extra: `cache {\n  persist = {\n    type = "kubernetes"\n    path = "/vault/agent-cache"\n    key_file = "/tmp/persist.key"\n    ${k} = ${v}\n  }\n}` });
  }
  const listener: Array<[string, string, string?]> = [
    ['type', '"tcp"'], ['address', ''], ['role', '"default"'], ['purpose', '"api"'], ['cluster_address', '"127.0.0.1:8201"'],
    ['max_request_size', '33554432'], ['max_request_duration', '"90s"'], ['require_request_header', 'true'],
    ['tls_disable', ''], ['tls_cert_file', '', TLS_FILES], ['tls_key_file', '', TLS_FILES],
    ['tls_min_version', '"tls12"', TLS_FILES], ['tls_max_version', '"tls13"', TLS_FILES],
    ['tls_cipher_suites', '"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"', TLS_FILES],
    ['tls_require_and_verify_client_cert', 'true\n  tls_client_ca_file = "/tmp/ca.pem"', TLS_FILES],
    ['tls_client_ca_file', '"/tmp/ca.pem"', TLS_FILES], ['tls_disable_client_certs', 'true', TLS_FILES],
    ['tls_prefer_server_cipher_suites', 'true', TLS_FILES],
    ['http_read_timeout', '"30s"'], ['http_read_header_timeout', '"10s"'], ['http_write_timeout', '"0"'], ['http_idle_timeout', '"5m"'],
    ['proxy_protocol_behavior', '"use_always"'], ['proxy_protocol_authorized_addrs', '"127.0.0.1"'],
    ['x_forwarded_for_authorized_addrs', '"127.0.0.1"'], ['x_forwarded_for_hop_skips', '1'],
    ['x_forwarded_for_reject_not_present', 'true'], ['x_forwarded_for_reject_not_authorized', 'true'],
    ['socket_mode', '"0600"'], ['socket_user', '"1000"'], ['socket_group', '"1000"'],
    ['cors_enabled', 'true'], ['cors_allowed_origins', '["https://a.example"]'], ['cors_allowed_headers', '["X-Custom"]'],
    ['chroot_namespace', '"ns1"'], ['disable_replication_status_endpoints', 'true'],
  ];
  for (const [k, v, tls] of listener) {
    if (v === '') { add(`listener > ${k}`, 'both', {}); continue; }
    add(`listener > ${k}`, 'both', { listener: `  ${k} = ${v}`, ...(tls ? { listenerTls: tls } : {}) });
  }
  add('listener > agent_api > enable_quit', 'agent', { listener: '  agent_api {\n    enable_quit = true\n  }' });
  add('listener > proxy_api > enable_quit', 'proxy', { listener: '  proxy_api {\n    enable_quit = true\n  }' });
  add('listener > telemetry > unauthenticated_metrics_access', 'both', { listener: '  telemetry {\n    unauthenticated_metrics_access = true\n  }' });
  add('listener > profiling > unauthenticated_pprof_access', 'both', { listener: '  profiling {\n    unauthenticated_pprof_access = true\n  }' });
  add('listener > inflight_requests_logging > unauthenticated_in_flight_requests_access', 'both', { listener: '  inflight_requests_logging {\n    unauthenticated_in_flight_requests_access = true\n  }' });
  add('listener > custom_response_headers', 'both', { listener: '  custom_response_headers {\n    "default" = {\n      "X-Custom" = ["v"]\n    }\n  }' });
  const telemetry: Array<[string, string]> = [
    ['statsite_address', '"127.0.0.1:8125"'], ['statsd_address', '"127.0.0.1:8125"'], ['disable_hostname', 'true'], ['enable_hostname_label', 'true'],
    ['metrics_prefix', '"vx"'], ['usage_gauge_period', '"10m"'], ['maximum_gauge_cardinality', '500'],
    ['circonus_api_token', '"t"'], ['circonus_api_app', '"a"'], ['circonus_api_url', '"https://c.example"'], ['circonus_submission_interval', '"10s"'],
    ['circonus_submission_url', '"https://c.example"'], ['circonus_check_id', '"1"'], ['circonus_check_force_metric_activation', '"false"'],
    ['circonus_check_instance_id', '"i"'], ['circonus_check_search_tag', '"s"'], ['circonus_check_tags', '"t"'], ['circonus_check_display_name', '"d"'],
    ['circonus_broker_id', '"b"'], ['circonus_broker_select_tag', '"b"'], ['dogstatsd_addr', '"127.0.0.1:8125"'], ['dogstatsd_tags', '["a:b"]'],
    ['prometheus_retention_time', '"24h"'], ['stackdriver_project_id', '"p"'], ['stackdriver_location', '"l"'], ['stackdriver_namespace', '"n"'],
    ['stackdriver_debug_logs', 'true'], ['lease_metrics_epsilon', '"1h"'], ['num_lease_metrics_buckets', '168'],
    ['add_lease_metrics_namespace_labels', 'false'], ['filter_default', 'true'], ['prefix_filter', '["+vault.agent"]'],
    ['add_mount_point_rollback_metrics', 'false'],
  ];
  for (const [k, v] of telemetry) add(`telemetry > ${k}`, 'both', { extra: `telemetry {\n  ${k} = ${v}\n}` });
  add('template_config', 'agent', { extra: 'template_config {\n}' });
  for (const [k, v] of [['exit_on_retry_failure', 'true'], ['static_secret_render_interval', '"5m"'], ['max_connections_per_host', '10'], ['lease_renewal_threshold', '0.9']] as const) {
    add(`template_config > ${k}`, 'agent', { extra: `template_config {\n  ${k} = ${v}\n}` });
  }
  const template: Array<[string, string]> = [
    ['source', '"/tmp/in.tmpl"'], ['destination', '"/tmp/out"'], ['contents', '"x"'], ['create_dest_dirs', 'true'],
    ['error_on_missing_key', 'true'], ['perms', '"0600"'], ['backup', 'true'], ['left_delimiter', '"{{"'], ['right_delimiter', '"}}"'],
    ['function_denylist', '["sockaddr"]'], ['sandbox_path', '"/tmp"'], ['command', '"true"'], ['command_timeout', '"30s"'],
    ['exec', '{\n    command = ["true"]\n  }'], ['wait', '{\n    min = "2s"\n    max = "10s"\n  }'], ['user', '"1000"'], ['group', '"1000"'],
  ];
  // A template needs exactly one of source and contents: the sample carries contents unless it shows one of them.
  for (const [k, v] of template) add(`template > ${k}`, 'agent', { extra: `template {\n  destination = "/tmp/out"\n${k === 'source' || k === 'contents' ? '' : '  contents = "x"\n'}  ${k} = ${v}\n}` });
  for (const [k, v] of [['command', '["true"]'], ['restart_on_secret_changes', '"always"'], ['restart_stop_signal', '"SIGTERM"']] as const) {
    add(`exec > ${k}`, 'agent', { extra: `exec {\n  command = ["true"]\n  ${k} = ${v}\n}` });
  }
  for (const [k, v] of [['contents', '"{{ . }}"'], ['error_on_missing_key', 'true'], ['left_delimiter', '"{{"'], ['right_delimiter', '"}}"']] as const) {
    add(`env_template > ${k}`, 'agent', { extra: `env_template "FOO" {\n  contents = "x"\n  ${k} = ${v}\n}\nexec {\n  command = ["true"]\n}` });
  }
  for (const [method, keys] of Object.entries(METHOD_KEYS)) {
    const base = METHOD_BASE[method] ?? {};
    for (const key of keys) {
      const config: Record<string, string> = { ...base, ...sampleValues(method, key) };
      const lines = Object.entries(config).map(([k, v]) => `      ${k} = ${v}`).join('\n');
      out.push({
        key: `auto_auth > method "${method}" > config > ${key}`,
        match: `auto_auth > method > config > ${key}`,
        in: 'both',
        hcl: baseConfig({ methodBlock: `  method "${method}" {\n    config = {\n${lines}\n    }\n  }` }),
      });
    }
  }
  return out;
}

/**
 * The config keys of each auto-auth method Vault Agent and Proxy 1.15.6 read
 * (command/agentproxyshared/auth/<method>/), plus later ones vault-extproc reads.
 */
export const METHOD_KEYS: Record<string, string[]> = {
  approle: ['role_id_file_path', 'secret_id_file_path', 'remove_secret_id_file_after_reading', 'secret_id_response_wrapping_path'],
  aws: ['type', 'role', 'region', 'access_key', 'secret_key', 'session_token', 'header_value', 'nonce', 'credential_poll_interval'],
  azure: ['role', 'resource', 'object_id', 'client_id', 'scope', 'authenticate_from_environment'],
  cert: ['name', 'ca_cert', 'client_cert', 'client_key', 'reload'],
  gcp: ['type', 'role', 'credentials', 'service_account', 'project', 'jwt_exp'],
  jwt: ['path', 'role', 'remove_jwt_after_reading', 'remove_jwt_follows_symlinks', 'jwt_read_period'],
  kubernetes: ['role', 'token_path'],
  ldap: ['username', 'password_file_path', 'remove_password_after_reading', 'remove_password_follows_symlinks', 'password_read_period'],
  token_file: ['token_file_path'],
  alicloud: ['role', 'region', 'access_key', 'access_secret', 'access_token', 'role_arn', 'role_name', 'role_session_name', 'role_session_expiration', 'session_expiration', 'private_key', 'public_key_id', 'credential_poll_interval'],
  cf: ['role'],
  kerberos: ['username', 'service', 'realm', 'keytab_path', 'krb5conf_path', 'disable_fast_negotiation'],
  oci: ['type', 'role', 'credential_poll_interval'],
};

/** What each method needs besides the key shown. */
const METHOD_BASE: Record<string, Record<string, string>> = {
  approle: { role_id_file_path: '"/tmp/r"', secret_id_file_path: '"/tmp/s"' },
  aws: { type: '"iam"', role: '"r"' },
  azure: { role: '"r"', resource: '"https://management.azure.com/"' },
  gcp: { type: '"iam"', role: '"r"', service_account: '"sa@p.iam.gserviceaccount.com"' },
  jwt: { path: '"/tmp/jwt"', role: '"r"' },
  kubernetes: { role: '"r"' },
  ldap: { username: '"u"', password_file_path: '"/tmp/p"' },
  token_file: { token_file_path: '"/tmp/tok"' },
  alicloud: { role: '"r"', region: '"us-east-1"' },
  cf: { role: '"r"' },
  kerberos: { username: '"u"', service: '"HTTP/v"', realm: '"R"', keytab_path: '"/tmp/k"', krb5conf_path: '"/tmp/c"' },
  oci: { type: '"apikey"', role: '"r"' },
};

/** A value of the right kind for a method's key (and what it must come with). */
function sampleValues(method: string, key: string): Record<string, string> {
  if (method === 'cert' && ['client_cert', 'client_key', 'ca_cert', 'reload'].includes(key)) {
    return { client_cert: '"/tmp/c.pem"', client_key: '"/tmp/k.pem"', ...(key === 'ca_cert' ? { ca_cert: '"/tmp/ca.pem"' } : key === 'reload' ? { reload: 'true' } : {}) };
  }
  if (/^(remove_|reload$|authenticate_from_environment$|disable_fast_negotiation$)|_follows_symlinks$/.test(key)) return { [key]: 'true' };
  if (key === 'credential_poll_interval') return { [key]: '60' };
  if (/_period$|session_expiration$/.test(key)) return { [key]: '"60s"' };
  if (key === 'jwt_exp') return { [key]: '15' };
  if (method === 'aws' && key === 'nonce') return { type: '"ec2"', nonce: '"x"' };
  if (method === 'aws' && ['access_key', 'secret_key', 'session_token'].includes(key)) return { access_key: '"AKIAEXAMPLE"', secret_key: '"s"', ...(key === 'session_token' ? { session_token: '"t"' } : {}) };
  if (key === 'type' || (METHOD_BASE[method] ?? {})[key] !== undefined) return {};
  if (/_path$|^ca_cert$|^credentials$/.test(key)) return { [key]: '"/tmp/x"' };
  return { [key]: '"x"' };
}

function normalize(location: string): string {
  return location.replace(/ "[^"]*"/g, '').replace(/ #\d+/g, '');
}

function describeProblem(p: Problem): string {
  return p.message.replace(/\s+/g, ' ').trim();
}

function statusOf(p: Problem): KeyStatus {
  if (p.message.includes('unknown key')) return 'unknown';
  if (p.severity === 'error') return 'refused';
  if (/not applicable/i.test(p.message)) return 'not applicable';
  if (/not implemented/i.test(p.message)) return 'not implemented';
  return 'differs';
}

/** What the reader says about each key: generated, never written by hand. */
export function keyTable(): KeyRow[] {
  const base = new Set(parseConfig(baseConfig(), 'keys.hcl', {}).problems.map((p) => `${p.location}\n${p.message}`));
  return samples().map((s) => {
    const problems = parseConfig(s.hcl, 'keys.hcl', {}).problems.filter((p) => !base.has(`${p.location}\n${p.message}`));
    const mine = problems
      .map((p) => ({ p, at: normalize(p.location) }))
      .filter(({ at }) => at === (s.match ?? s.key) || (s.match ?? s.key).startsWith(`${at} > `) || (at === '' && !s.key.includes(' > ')))
      .sort((a, b) => b.at.length - a.at.length);
    const first = mine[0]?.p;
    if (!first) return { key: s.key, in: s.in, status: 'works', why: '' };
    return { key: s.key, in: s.in, status: statusOf(first), why: describeProblem(first) };
  });
}

export function keyTableMarkdown(): string {
  const rows = keyTable();
  const esc = (t: string): string => t.replace(/\|/g, '\\|');
  const lines = [
    '# Vault Proxy and Vault Agent config keys in vault-extproc',
    '',
    'Generated by `node scripts/config-keys.mjs` from the config reader itself (src/config/keys.ts):',
    'each key is written into a valid config and read; the status and the reason are what',
    '`vault-extproc check` says about it. Do not edit by hand: test/unit/config/config-keys.test.ts',
    'fails when this file and the reader disagree.',
    '',
    'Status: **works** (read and applied, nothing to say), **differs** (read; the reason says how',
    'vault-extproc differs), **not implemented** (read and ignored, with a warning), **not applicable**',
    '(has no meaning in an Envoy deployment), **refused** (`check` refuses it), **unknown** (not read yet:',
    '`check` warns "unknown key; it is ignored").',
    '`in`: which of Vault Proxy and Vault Agent has the key.',
    '',
    '| key | in | status | why (what `check` says) |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${r.in} | ${r.status} | ${esc(r.why)} |`),
    '',
  ];
  return lines.join('\n');
}
