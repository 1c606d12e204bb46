import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LISTENER_METADATA_KEY } from '../../src/extproc/server.js';
import { externalProcessorService } from '../../src/extproc/protos.js';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { CLI, REPO_ROOT } from '../support/paths.js';
import { freePort, waitFor } from '../support/ports.js';
import { Proc, run } from '../support/process.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { makeTestPki, type TestPki } from '../support/tls.js';
import { vaultApi } from '../support/vault-setup.js';

const Client = grpc.makeGenericClientConstructor(externalProcessorService(), 'ExternalProcessor');

/**
 * Opens an ext_proc stream as a plain gRPC client would and sends the request_headers of a GET:
 * 'reply' when vault-extproc answered (the stream was open to it), else the gRPC error code.
 */
function openStream(target: string, credentials: grpc.ChannelCredentials): Promise<string> {
  // The test server certificate names localhost (and 127.0.0.1): check it by name, as TLS wants.
  const client = new Client(target, credentials, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  const md = new grpc.Metadata();
  md.set(LISTENER_METADATA_KEY, '0');
  const call = client.makeBidiStreamRequest('/envoy.service.ext_proc.v3.ExternalProcessor/Process', (x: unknown) => x as Buffer, (x: Buffer) => x, md, { deadline: Date.now() + 5_000 });
  return new Promise<string>((resolve) => {
    const done = (result: string): void => {
      call.cancel();
      client.close();
      resolve(result);
    };
    call.on('data', () => done('reply'));
    call.on('error', (err: grpc.ServiceError) => done(grpc.status[err.code] ?? String(err.code)));
    call.write(REQUEST_HEADERS);
  });
}

/** A serialized ProcessingRequest{request_headers: GET /v1/sys/health, end_of_stream}: built once from the protos. */
const REQUEST_HEADERS: Buffer = (() => {
  const method = externalProcessorService()['Process']!;
  return method.requestSerialize({
    request_headers: {
      headers: { headers: [[':method', 'GET'], [':path', '/v1/sys/health'], [':authority', 'vault'], [':scheme', 'http']].map(([key, v]) => ({ key, raw_value: Buffer.from(v!) })) },
      end_of_stream: true,
    },
  });
})();

/** The probe above as a script, for running as another user (its directory and file readable by all). */
function probeScript(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vxp-probe-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'probe.mjs');
  writeFileSync(file, `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(REPO_ROOT, 'package.json'))});
const grpc = require('@grpc/grpc-js');
const client = new grpc.Client(process.argv[2], grpc.credentials.createInsecure());
const md = new grpc.Metadata();
md.set(${JSON.stringify(LISTENER_METADATA_KEY)}, '0');
const call = client.makeBidiStreamRequest('/envoy.service.ext_proc.v3.ExternalProcessor/Process', (x) => x, (x) => x, md, { deadline: Date.now() + 5000 });
const done = (r) => { process.stdout.write(r); process.exit(0); };
call.on('data', () => done('reply'));
call.on('error', (e) => done(grpc.status[e.code] + ' ' + e.details));
call.write(Buffer.from(${JSON.stringify(REQUEST_HEADERS.toString('base64'))}, 'base64'));
`);
  chmodSync(file, 0o644);
  return file;
}

async function kvRead(stack: Stack, vault: Backend): Promise<{ status: number; data: unknown }> {
  const res = await fetch(`${stack.url}/v1/secret/data/channel`, { headers: { 'x-vault-token': vault.rootToken } });
  const body = await res.json() as { data?: { data?: unknown } };
  return { status: res.status, data: body.data?.data };
}

forEachBackend('e2e: the ext_proc channel accepts streams only from its Envoy', function (kind) {
  this.timeout(60_000);
  let vault: Backend;
  const stacks: Stack[] = [];
  showLogsOnFailure(() => stacks, () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await vaultApi(vault, 'POST', 'secret/data/channel', { data: { over: 'the channel' } });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.stop()));
    await vault?.close();
  });

  describe('a unix socket (the default)', () => {
    let stack: Stack;
    let socket: string;
    before(async () => {
      // A directory everyone may enter: only the socket's own mode keeps other users out.
      const dir = mkdtempSync(join(tmpdir(), 'vxp-sock-'));
      chmodSync(dir, 0o755);
      socket = join(dir, 'extproc.sock');
      stack = await startStack({ vault, hcl: () => '', waitReady: false, extprocHcl: () => `address = "unix://${socket}"` });
      stacks.push(stack);
    });

    it('is mode 0600, owned by vault-extproc\'s user, and the generated Envoy config reaches Vault through it', async () => {
      const st = statSync(socket);
      expect(st.isSocket()).to.equal(true);
      expect((st.mode & 0o777).toString(8)).to.equal('600');
      expect(st.uid).to.equal(process.getuid!());
      const generated = JSON.parse((await run(process.execPath, [CLI, 'envoy-config', '--config', stack.configPath])).stdout);
      const cluster = generated.static_resources.clusters.find((c: { name: string }) => c.name === 'vault_extproc');
      expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).to.deep.equal({ pipe: { path: socket } });
      expect(await kvRead(stack, vault)).to.deep.equal({ status: 200, data: { over: 'the channel' } });
    });

    // Switching users needs root; the tests run as root in CI and in the dev container.
    (process.getuid?.() === 0 ? it : (): void => undefined)('a plain gRPC client running as another user cannot connect; as vault-extproc\'s user it gets an answer', async () => {
      const probe = probeScript();
      const asNobody = await run(process.execPath, [probe, `unix:${socket}`], process.env, { uid: 65534, gid: 65534 });
      expect(asNobody.stdout, asNobody.stderr).to.match(/^UNAVAILABLE .*(EACCES|permission denied)/i);
      const asOwner = await run(process.execPath, [probe, `unix:${socket}`]);
      expect(asOwner.stdout, asOwner.stderr).to.equal('reply');
    });
  });

  describe('TCP with mutual TLS', () => {
    let pki: TestPki;
    let stack: Stack;
    let target: string;
    before(async () => {
      pki = makeTestPki();
      const port = await freePort();
      target = `127.0.0.1:${port}`;
      stack = await startStack({
        vault, hcl: () => '', waitReady: false,
        extprocHcl: () => `address = "${target}"
  tls_cert_file = "${pki.serverCert}"
  tls_key_file = "${pki.serverKey}"
  tls_client_ca_file = "${pki.caCert}"
  envoy_client_cert_file = "${pki.clientCert}"
  envoy_client_key_file = "${pki.clientKey}"`,
      });
      stacks.push(stack);
    });

    it('the generated Envoy config presents Envoy\'s certificate: a KV read through Envoy answers Vault\'s data', async () => {
      expect(await kvRead(stack, vault)).to.deep.equal({ status: 200, data: { over: 'the channel' } });
    });

    it('a client without Envoy\'s certificate cannot open a stream (none, another CA\'s, or plaintext); with it, it can', async () => {
      const ca = readFileSync(pki.caCert);
      const noCert = await openStream(target, grpc.credentials.createSsl(ca));
      const otherCa = await openStream(target, grpc.credentials.createSsl(ca, readFileSync(join(pki.dir, 'other-ca.key')), readFileSync(pki.otherCaCert)));
      const plaintext = await openStream(target, grpc.credentials.createInsecure());
      expect({ noCert, otherCa, plaintext }).to.deep.equal({ noCert: 'UNAVAILABLE', otherCa: 'UNAVAILABLE', plaintext: 'UNAVAILABLE' });
      const withCert = await openStream(target, grpc.credentials.createSsl(ca, readFileSync(pki.clientKey), readFileSync(pki.clientCert)));
      expect(withCert).to.equal('reply');
    });
  });
});

describe('e2e: the ext_proc socket and plain TCP (CLI)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'vxp-chan-'));
  const config = (name: string, extproc: string): string => {
    const file = join(dir, `${name}.hcl`);
    writeFileSync(file, `vault { address = "http://127.0.0.1:1" }\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\nextproc {\n  ${extproc}\n  admin_address = "127.0.0.1:0"\n}\n`);
    return file;
  };

  it('check refuses a TCP ext_proc address without mutual TLS, and warns when tls_disable = true is written out', async () => {
    const refused = await run(process.execPath, [CLI, 'check', '--config', config('tcp', 'address = "127.0.0.1:9001"')]);
    expect(refused.code).to.equal(1);
    expect(refused.stdout).to.include('a TCP ext_proc address needs mutual TLS');
    const plain = await run(process.execPath, [CLI, 'check', '--config', config('plain', 'address = "127.0.0.1:9001"\n  tls_disable = true')]);
    expect(plain.code).to.equal(0);
    expect(plain.stdout).to.include('ext_proc listens on plain TCP (127.0.0.1:9001)').and.include('valid (1 warning(s))');
  });

  it('serve creates the socket\'s directory owner-only, replaces a stale socket, and refuses a path that is not a socket', async () => {
    const sockDir = join(dir, 'run', 'vault-extproc');
    const socket = join(sockDir, 'extproc.sock');
    const file = config('unix', `address = "unix://${socket}"`);
    // A process killed without cleaning up leaves its socket file behind.
    const stale = new Proc('stale', process.execPath, ['-e', `require('fs').mkdirSync(${JSON.stringify(sockDir)}, { recursive: true }); require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await stale.exited;
    expect(statSync(socket).isSocket()).to.equal(true);
    chmodSync(sockDir, 0o755);
    const serve = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', file]);
    try {
      await waitFor('the ext_proc socket', () => (serve.text.includes('ext_proc server listening') ? true : undefined), 15_000);
      expect((statSync(socket).mode & 0o777).toString(8)).to.equal('600');
    } finally {
      await serve.stop();
    }
    const fresh = join(dir, 'fresh', 'sub', 'extproc.sock');
    const serve2 = new Proc('vault-extproc', process.execPath, [CLI, 'serve', '--config', config('fresh', `address = "unix://${fresh}"`)]);
    try {
      await waitFor('the ext_proc socket', () => (serve2.text.includes('ext_proc server listening') ? true : undefined), 15_000);
      expect((statSync(join(dir, 'fresh', 'sub')).mode & 0o777).toString(8)).to.equal('700');
    } finally {
      await serve2.stop();
    }
    const notSocket = join(dir, 'file.sock');
    writeFileSync(notSocket, 'not a socket');
    const refused = await run(process.execPath, [CLI, 'serve', '--config', config('file', `address = "unix://${notSocket}"`)]);
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.include(`cannot listen on ${notSocket}: it exists and is not a socket`);
    expect(readFileSync(notSocket, 'utf8')).to.equal('not a socket');
  });
});
