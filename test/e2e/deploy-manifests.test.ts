// The Kubernetes manifests (deploy/kubernetes/) and the Envoy Gateway and Istio snippets
// (envoy/gateway/, envoy/istio/), checked as far as offline tools allow:
// - every YAML document parses with the `yaml` package (strict, unique keys, no warnings);
// - Kubernetes, Istio and Gateway API objects validate against their OpenAPI schemas
//   (kubernetes-models: types and required fields; unknown fields are not caught there);
//   Envoy Gateway's own kinds have no schema package and are named below as such;
// - core Kubernetes objects decode strictly into k8s.io/api's Go types (test/k8s-strict): an unknown
//   or misspelled field is an error there, as with the API server's strict field validation;
// - the fields that matter agree with vault-extproc's defaults and with each other (probes, socket,
//   ports, the Secret's files), and the ConfigMap holds no credential;
// - the ConfigMap's config passes `vault-extproc check` (with the Secret's files in place), and
//   `envoy-config` renders it to a bootstrap the real Envoy validates, as the init container does;
// - the Envoy settings the Gateway and Istio patches carry, applied to that bootstrap, still pass
//   `envoy --mode validate`; and `kubectl kustomize` renders deploy/kubernetes.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { Gateway, HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/types.js';
import { BUFFER_LIMIT_BYTES, envoyBootstrap, EXT_PROC_MESSAGE_TIMEOUT, EXT_PROC_STREAMS_PER_CONNECTION } from '../../src/envoy/bootstrap.js';
import { envoyBinary } from '../support/envoy.js';
import { CLI, REPO_ROOT } from '../support/paths.js';
import { run } from '../support/process.js';
import { strictDecode } from '../k8s-strict/strict.js';

type Obj = Record<string, any>;

const DIRS = [join(REPO_ROOT, 'deploy', 'kubernetes'), join(REPO_ROOT, 'envoy', 'gateway'), join(REPO_ROOT, 'envoy', 'istio')];
const FILES = DIRS.flatMap((d) => readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(d, f)));

/** Schema-validated kinds (apiVersion/kind → model). */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap, 'v1/Secret': Secret, 'v1/Service': Service, 'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.istio.io/v1alpha3/EnvoyFilter': EnvoyFilter, 'networking.istio.io/v1beta1/DestinationRule': DestinationRule,
  'gateway.networking.k8s.io/v1/Gateway': Gateway, 'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
};
/** Envoy Gateway's CRDs: parsed and checked field by field below, with no schema package to validate them. */
const NO_SCHEMA = new Set(['EnvoyExtensionPolicy', 'ClientTrafficPolicy', 'BackendTrafficPolicy', 'EnvoyPatchPolicy', 'EnvoyProxy']);

function docsOf(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true }).map((d) => d.toJS() as Obj).filter((d) => d !== null);
}
const ALL = FILES.flatMap((f) => docsOf(f).map((doc) => ({ file: f.slice(REPO_ROOT.length + 1), doc })));
function find(kind: string, name?: string): Obj {
  const hit = ALL.find(({ doc }) => doc['kind'] === kind && (name === undefined || doc['metadata']?.['name'] === name));
  expect(hit, `${kind} ${name ?? ''}`).to.not.equal(undefined);
  return hit!.doc;
}
function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}
async function envoyValidate(bootstrap: unknown, dir: string, name: string): Promise<void> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(bootstrap));
  const r = await run(await envoyBinary(), ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'error']);
  expect(r.stdout + r.stderr, `${name}: ${r.stdout}${r.stderr}`).to.match(/OK\s*$/m);
  expect(r.code, r.stdout + r.stderr).to.equal(0);
}

describe('deployment manifests and the Envoy Gateway / Istio snippets', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'vxp-deploy-'));
  const k8s = (kind: string): Obj => {
    const hit = ALL.find(({ file, doc }) => file.startsWith('deploy/kubernetes/') && doc['kind'] === kind);
    expect(hit, kind).to.not.equal(undefined);
    return hit!.doc;
  };
  const configMap = (): Obj => k8s('ConfigMap');
  const hcl = (): string => configMap()['data']['config.hcl'] as string;
  const loaded = () => parseConfig(hcl(), 'configmap.hcl', {});

  it('every YAML document parses (strict, unique keys, no warnings) and names its apiVersion, kind and name', () => {
    expect(FILES.length).to.be.at.least(8);
    for (const file of FILES) {
      for (const d of parseAllDocuments(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true })) {
        expect([...d.errors, ...d.warnings].map((e) => e.message), file).to.deep.equal([]);
      }
    }
    for (const { file, doc } of ALL) {
      if (file.endsWith('kustomization.yaml') || file.endsWith('gateway-runtime-patch.yaml')) continue;
      expect(doc, file).to.include.keys('apiVersion', 'kind', 'metadata');
      expect(doc['metadata']['name'], file).to.be.a('string');
    }
  });

  it('Kubernetes, Istio and Gateway API objects validate against their schemas; only Envoy Gateway\'s own kinds have none', () => {
    let validated = 0;
    for (const { file, doc } of ALL) {
      if (file.endsWith('kustomization.yaml') || file.endsWith('gateway-runtime-patch.yaml')) continue;
      const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
      if (!Model) {
        expect(NO_SCHEMA.has(doc['kind']), `${file}: ${doc['apiVersion']} ${doc['kind']} is neither validated nor a known Envoy Gateway kind`).to.equal(true);
        expect(doc['apiVersion'], file).to.equal('gateway.envoyproxy.io/v1alpha1');
        continue;
      }
      expect(() => new Model(doc).validate(), `${file}: ${doc['kind']} ${doc['metadata']['name']}`).to.not.throw();
      validated++;
    }
    expect(validated).to.be.at.least(10);
  });

  it('core Kubernetes objects decode strictly into k8s.io/api types (a misspelled field is an error)', async function () {
    this.timeout(600_000); // the first run builds the Go tool (about a minute)
    const results = await strictDecode(FILES.filter((f) => !f.endsWith('kustomization.yaml') && !f.endsWith('gateway-runtime-patch.yaml')));
    expect(results.filter((r) => r.error).map((r) => `${r.file}: ${r.kind} ${r.name}: ${r.error}`)).to.deep.equal([]);
    const checked = results.filter((r) => r.checked).map((r) => r.kind).sort();
    expect(checked).to.deep.equal(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Secret', 'Service', 'Service']);
  });

  it('probes: vault-extproc\'s readiness is /readyz and liveness /healthz on the config\'s admin port, our default 9002, bound for the kubelet', () => {
    const { config, errors } = loaded();
    expect(errors.filter((e) => e.severity === 'error').map((e) => e.message)).to.deep.equal([]);
    expect(portOf(config.extproc.adminAddress)).to.equal(portOf(DEFAULTS.adminAddress));
    expect(config.extproc.adminAddress.startsWith('0.0.0.0:'), 'the kubelet probes the pod IP').to.equal(true);
    const pod = k8s('Deployment')['spec']['template']['spec'];
    const vx = pod.containers.find((c: Obj) => c.name === 'vault-extproc');
    const named = (port: string | number): number => (typeof port === 'number' ? port : vx.ports.find((p: Obj) => p.name === port).containerPort);
    expect(vx.readinessProbe.httpGet.path).to.equal('/readyz');
    expect(vx.livenessProbe.httpGet.path).to.equal('/healthz');
    expect(named(vx.readinessProbe.httpGet.port)).to.equal(portOf(DEFAULTS.adminAddress));
    expect(named(vx.livenessProbe.httpGet.port)).to.equal(portOf(DEFAULTS.adminAddress));
  });

  it('the ext_proc socket: the default address, on one emptyDir both containers mount; Envoy runs the bootstrap the init container writes', () => {
    const { config } = loaded();
    expect(config.extproc.address).to.equal(DEFAULTS.extprocAddress);
    const socketDir = dirname(DEFAULTS.extprocAddress.replace(/^unix:\/\//, ''));
    const pod = k8s('Deployment')['spec']['template']['spec'];
    const volume = (c: Obj, path: string): Obj | undefined => {
      const mount = c.volumeMounts.find((m: Obj) => m.mountPath === path);
      return mount && pod.volumes.find((v: Obj) => v.name === mount.name);
    };
    const envoy = pod.containers.find((c: Obj) => c.name === 'envoy');
    const vx = pod.containers.find((c: Obj) => c.name === 'vault-extproc');
    const shared = volume(vx, socketDir);
    expect(shared?.emptyDir, 'vault-extproc mounts an emptyDir at the socket directory').to.not.equal(undefined);
    expect(volume(envoy, socketDir)?.name).to.equal(shared!.name);
    // Both as the same uid: the socket's mode is 0600.
    expect(pod.securityContext.runAsUser).to.be.a('number');
    for (const c of [...pod.containers, ...pod.initContainers]) expect(c.securityContext?.runAsUser ?? pod.securityContext.runAsUser).to.equal(pod.securityContext.runAsUser);
    const init = pod.initContainers.find((c: Obj) => c.name === 'envoy-config');
    const out = /> (\S+)$/.exec(init.args.join(' '))![1]!;
    expect(init.args.join(' ')).to.include('envoy-config --config /etc/vault-extproc/config.hcl');
    expect(envoy.args.slice(0, 2)).to.deep.equal(['-c', out]);
    expect(volume(init, dirname(out))?.name).to.equal(volume(envoy, dirname(out))?.name);
  });

  it('the listener is the Service\'s `http` port and Envoy\'s container port; the Gateway snippet\'s ext_proc Service port is `grpc`', () => {
    const { config } = loaded();
    const port = portOf(config.listeners[0]!.address);
    const envoy = k8s('Deployment')['spec']['template']['spec'].containers.find((c: Obj) => c.name === 'envoy');
    const svc = k8s('Service')['spec']['ports'][0];
    expect(svc.name).to.equal('http');
    expect(envoy.ports.find((p: Obj) => p.name === svc.targetPort).containerPort).to.equal(port);
    const grpc = find('Service', 'vault-extproc')['spec']['ports'][0];
    expect(grpc).to.include({ name: 'grpc', port: 9001 });
    expect(find('EnvoyExtensionPolicy')['spec']['extProc'][0]['backendRefs'][0]).to.deep.include({ name: 'vault-extproc', port: grpc.port });
  });

  it('no credential in the ConfigMap: the AppRole files are the Secret\'s keys, mounted where the config reads them', () => {
    const secret = k8s('Secret');
    const text = JSON.stringify(configMap());
    for (const value of Object.values<string>(secret['stringData'] ?? {})) expect(text.includes(value), 'a Secret value in the ConfigMap').to.equal(false);
    expect(text).to.not.match(/hv[sbr]\.[A-Za-z0-9_-]{20,}|\b[sbr]\.[A-Za-z0-9]{20,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    expect(hcl()).to.not.match(/^\s*(token|secret_id|role_id|password|client_key)\s*=/m);
    const files = [...hcl().matchAll(/(?:role_id|secret_id)_file_path\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
    expect(files).to.have.length(2);
    const pod = k8s('Deployment')['spec']['template']['spec'];
    const vx = pod.containers.find((c: Obj) => c.name === 'vault-extproc');
    for (const file of files) {
      const mount = vx.volumeMounts.find((m: Obj) => m.mountPath === dirname(file));
      const volume = pod.volumes.find((v: Obj) => v.name === mount?.name);
      expect(volume?.secret?.secretName, file).to.equal(secret['metadata']['name']);
      expect(Object.keys(secret['stringData'])).to.include(file.slice(dirname(file).length + 1));
    }
  });

  it('the ConfigMap\'s config: `check` passes with the Secret\'s files in place; `envoy-config` renders what the real Envoy validates', async () => {
    const secret = k8s('Secret');
    const secretsDir = join(dir, 'secrets');
    const text = hcl().replaceAll('/run/secrets/vault-extproc/', `${secretsDir}/`);
    await run('mkdir', ['-p', secretsDir]);
    for (const [k, v] of Object.entries<string>(secret['stringData'])) writeFileSync(join(secretsDir, k), v);
    const file = join(dir, 'config.hcl');
    writeFileSync(file, text);
    const check = await run(process.execPath, [CLI, 'check', '--config', file]);
    expect(check.code, check.stdout + check.stderr).to.equal(0);
    const generated = await run(process.execPath, [CLI, 'envoy-config', '--config', join(dir, 'config.hcl')]);
    expect(generated.code, generated.stderr).to.equal(0);
    const bootstrap = JSON.parse(generated.stdout);
    const cluster = bootstrap.static_resources.clusters.find((c: Obj) => c.name === 'vault_extproc');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path).to.equal(DEFAULTS.extprocAddress.replace(/^unix:\/\//, ''));
    await envoyValidate(bootstrap, dir, 'configmap');
  });

  it('Envoy Gateway: the settings README "Envoy setup" calls necessary, and its patches\' values are valid Envoy config', async () => {
    const ext = find('EnvoyExtensionPolicy')['spec']['extProc'][0];
    expect(ext).to.deep.include({ failOpen: false, messageTimeout: EXT_PROC_MESSAGE_TIMEOUT });
    expect(ext.processingMode.allowModeOverride).to.equal(true);
    expect(ext.backendSettings.circuitBreaker).to.deep.include({ maxConnections: 100000, maxPendingRequests: 100000, maxParallelRequests: 100000, maxRequestsPerConnection: EXT_PROC_STREAMS_PER_CONNECTION });
    const mib = (q: string): number => Number(/^(\d+)Mi$/.exec(q)![1]) * 1024 * 1024;
    expect(mib(find('ClientTrafficPolicy')['spec']['connection']['bufferLimit'])).to.equal(BUFFER_LIMIT_BYTES);
    expect(mib(find('BackendTrafficPolicy')['spec']['connection']['bufferLimit'])).to.equal(BUFFER_LIMIT_BYTES);
    const gateway = find('Gateway', 'vault-gateway');
    const envoyProxy = find('EnvoyProxy');
    expect(gateway['spec']['infrastructure']['parametersRef']).to.deep.include({ kind: 'EnvoyProxy', name: envoyProxy['metadata']['name'] });
    const patch = find('EnvoyPatchPolicy')['spec'];
    expect(patch.targetRef.name).to.equal(gateway['metadata']['name']);
    expect(patch.jsonPatches[0].name).to.equal(`${gateway['metadata']['namespace']}/${gateway['metadata']['name']}/${gateway['spec']['listeners'][0].name}`);
    expect(find('HTTPRoute', 'vault')['spec']['rules'][0]['timeouts']['request']).to.equal('60s');

    // The values, applied to our own bootstrap where Envoy Gateway applies them, must be valid Envoy config.
    const { config } = loaded();
    const bootstrap = envoyBootstrap(config) as Obj;
    const hcm = bootstrap['static_resources'].listeners[0].filter_chains[0].filters[0].typed_config;
    expect(patch.jsonPatches[0].operation.path).to.equal('/default_filter_chain/filters/0/typed_config/http_protocol_options');
    hcm.http_protocol_options = patch.jsonPatches[0].operation.value;
    expect(hcm.http_protocol_options).to.deep.equal({ allow_custom_methods: true });
    const runtime = envoyProxy['spec']['bootstrap']['jsonPatches'][0];
    const key = runtime.path.replace('/layered_runtime/layers/0/static_layer/', '');
    expect(bootstrap['layered_runtime'].layers[0].static_layer).to.have.property(key); // the key our own bootstrap sets
    bootstrap['layered_runtime'].layers[0].static_layer[key] = runtime.value;
    expect(runtime.value).to.equal(false);
    await envoyValidate(bootstrap, dir, 'gateway');
  });

  it('Istio: the EnvoyFilter\'s MERGE patches applied to our bootstrap validate; the DestinationRule\'s limits; the runtime key set off as a string', async () => {
    const patches = find('EnvoyFilter')['spec']['configPatches'] as Obj[];
    const { config } = loaded();
    const bootstrap = envoyBootstrap(config) as Obj;
    const listener = bootstrap['static_resources'].listeners[0];
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    const merge = patches.filter((p) => p.patch.operation === 'MERGE');
    expect(merge.map((p) => p.applyTo)).to.deep.equal(['NETWORK_FILTER', 'LISTENER', 'CLUSTER']);
    Object.assign(hcm, { http_protocol_options: merge[0]!.patch.value.typed_config.http_protocol_options });
    Object.assign(listener, merge[1]!.patch.value);
    const vaultCluster = bootstrap['static_resources'].clusters.find((c: Obj) => c.name === 'vault');
    Object.assign(vaultCluster, merge[2]!.patch.value);
    expect([listener.per_connection_buffer_limit_bytes, vaultCluster.per_connection_buffer_limit_bytes]).to.deep.equal([BUFFER_LIMIT_BYTES, BUFFER_LIMIT_BYTES]);
    expect(hcm.http_protocol_options).to.deep.equal({ allow_custom_methods: true });
    await envoyValidate(bootstrap, dir, 'istio-merge');

    const dr = find('DestinationRule', 'vault-extproc')['spec'];
    expect(dr.host).to.equal('vault-extproc.vault.svc.cluster.local');
    expect(dr.trafficPolicy.connectionPool.http).to.deep.include({ http2MaxRequests: 100000, maxRequestsPerConnection: EXT_PROC_STREAMS_PER_CONNECTION });
    expect(dr.trafficPolicy.connectionPool.tcp.maxConnections).to.equal(100000);
    expect(patches[0]!.patch.value.typed_config.grpc_service.envoy_grpc.cluster_name).to.equal(`outbound|9001||${dr.host}`);

    const runtimePatch = parseYaml(readFileSync(join(REPO_ROOT, 'envoy', 'istio', 'gateway-runtime-patch.yaml'), 'utf8'));
    const proxyConfig = parseYaml(runtimePatch.spec.template.metadata.annotations['proxy.istio.io/config']);
    const key = Object.keys((envoyBootstrap(config) as Obj)['layered_runtime'].layers[0].static_layer).find((k) => k.includes('ext_proc_graceful_grpc_close'))!;
    // ProxyConfig.runtimeValues is map<string, string>: "false", not false.
    expect(proxyConfig).to.deep.equal({ runtimeValues: { [key]: 'false' } });
  });

  it('deploy/kubernetes renders (`kubectl kustomize` where kubectl is installed, else its resources read as kustomize would): every resource listed, in namespace vault', async () => {
    const dir = join(REPO_ROOT, 'deploy', 'kubernetes');
    const kubectl = await run('kubectl', ['version', '--client']).then((r) => r.code === 0, () => false);
    let rendered: Obj[];
    if (kubectl) {
      const r = await run('kubectl', ['kustomize', dir]);
      expect(r.code, r.stderr).to.equal(0);
      rendered = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    } else {
      // The machine has no kubectl (it is not a Debian package): the same rendering, by hand.
      const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { namespace: string; resources: string[] };
      rendered = k.resources.flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Obj))
        .map((d) => ({ ...d, metadata: { ...d['metadata'], namespace: k.namespace } }));
    }
    expect(rendered.map((d) => d['kind']).sort()).to.deep.equal(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Secret', 'Service']);
    for (const d of rendered) expect(d['metadata']['namespace']).to.equal('vault');
  });
});
