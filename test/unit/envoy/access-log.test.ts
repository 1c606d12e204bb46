import { expect } from 'chai';
import { parseConfig } from '../../../src/config/load.js';
import { envoyBootstrap } from '../../../src/envoy/bootstrap.js';
import { ACCESS_LOG_FORMAT } from '../../../src/envoy/access-log.js';

const LISTENERS = 'listener "tcp" {\n address = "127.0.0.1:8100"\n tls_disable = true\n}\nlistener "tcp" {\n address = "127.0.0.1:8101"\n tls_disable = true\n}\n';

function load(extproc: string): ReturnType<typeof parseConfig> {
  return parseConfig(`${LISTENERS}extproc {\n address = "unix:///run/vx/extproc.sock"\n ${extproc}\n}\n`, 'test.hcl', {});
}

function accessLogs(extproc: string): unknown[] {
  const { config, errors } = load(extproc);
  expect(errors).to.deep.equal([]);
  const b = envoyBootstrap(config) as any;
  return b.static_resources.listeners.map((l: any) => l.filter_chains[0].filters[0].typed_config.access_log);
}

describe('envoy: the access log of extproc.envoy_access_log', () => {
  it('absent: no access log on any listener', () => {
    expect(accessLogs('')).to.deep.equal([undefined, undefined]);
  });

  it('a path: a JSON file access log on every listener\'s connection manager', () => {
    const logs = accessLogs('envoy_access_log = "/var/log/envoy/vault.log"') as any[];
    expect(logs).to.have.length(2);
    for (const log of logs) {
      expect(log).to.have.length(1);
      expect(log[0].name).to.equal('envoy.access_loggers.file');
      expect(log[0].typed_config.path).to.equal('/var/log/envoy/vault.log');
      expect(log[0].typed_config.log_format.json_format).to.deep.equal(ACCESS_LOG_FORMAT);
    }
  });

  it('/dev/stdout and /dev/stderr: Envoy\'s stream loggers (no file to open), same format', () => {
    const [out] = accessLogs('envoy_access_log = "/dev/stdout"') as any[];
    expect(out[0].typed_config).to.deep.equal({ '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { json_format: ACCESS_LOG_FORMAT } });
    const [err] = accessLogs('envoy_access_log = "/dev/stderr"') as any[];
    expect(err[0].name).to.equal('envoy.access_loggers.stderr');
  });

  it('the format names no token header, cookie, query string or body', () => {
    const all = Object.values(ACCESS_LOG_FORMAT).join(' ');
    expect(all).to.not.match(/x-vault-token|authorization|cookie|body|x-vault-wrap|x-envoy-original-path/i);
    // The path is CEL's request.url_path (no query: `?token=` stays out), never :path or X-Envoy-Original-Path.
    expect(all).to.not.match(/REQ\(:PATH\)|%PATH|REQ_WITHOUT_QUERY/);
    expect(ACCESS_LOG_FORMAT['path']).to.match(/^%CEL\(request\.url_path\.matches\(.*\) \? "\[path with a token\]" : request\.url_path\)%$/);
  });

  it('a relative or empty path is an error naming the key', () => {
    for (const bad of ['"access.log"', '""']) {
      const { errors } = load(`envoy_access_log = ${bad}`);
      expect(errors.map((e) => `${e.location}: ${e.message}`).join('\n')).to.match(/extproc.*envoy_access_log: must be an absolute path/);
    }
  });
});
