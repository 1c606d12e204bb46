import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { expect } from 'chai';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startApp, type App } from '../../../src/app.js';
import { parseConfig } from '../../../src/config/load.js';
import { envoyProtoDirs } from '../../../src/extproc/protos.js';
import { LISTENER_METADATA_KEY } from '../../../src/extproc/server.js';
import { forEachBackend, startBackend, type Backend } from '../../support/backend.js';
import { appRoleAutoAuth, setupAppRole } from '../../support/vault-setup.js';
import { waitFor } from '../../support/ports.js';

type Duplex = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, any>>;

function clients(port: number) {
  const def = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: envoyProtoDirs(),
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const extproc = new pkg.envoy.service.ext_proc.v3.ExternalProcessor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const healthPkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String })) as any;
  const health = new healthPkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return { extproc, health };
}

function headers(h: Record<string, string>) {
  return { headers: { headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: true };
}

/** Sends one message on a fresh stream, as Envoy does, and returns the reply. */
function exchange(client: any, msgs: Array<Record<string, unknown>>, listener = '0'): Promise<Array<Record<string, any>>> {
  const md = new grpc.Metadata();
  md.set(LISTENER_METADATA_KEY, listener);
  const call: Duplex = client.Process(md);
  const replies: Array<Record<string, any>> = [];
  return new Promise((resolve, reject) => {
    call.on('data', (r) => {
      replies.push(r);
      if (replies.length === msgs.length) {
        call.cancel(); // Envoy resets the side stream when it is done: the server must take it calmly
        resolve(replies);
      }
    });
    call.on('error', (err: grpc.ServiceError) => { if (err.code !== grpc.status.CANCELLED) reject(err); });
    for (const m of msgs) call.write(m);
  });
}

forEachBackend('extproc server (gRPC, without Envoy)', function (kind) {
  this.timeout(20_000);
  let sim: Backend;
  let app: App;
  let c: ReturnType<typeof clients>;

  before(async () => {
    sim = await startBackend(kind);
    const creds = await setupAppRole(sim);
    const dir = mkdtempSync(join(tmpdir(), 'vxp-srv-'));
    const { config, errors } = parseConfig(`
vault { address = "${sim.serviceUrl}" }
extproc {
  address = "127.0.0.1:0"
  admin_address = "127.0.0.1:0"
  tls_disable = true
}
${appRoleAutoAuth(dir, creds)}
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
listener "tcp" {
  address = "127.0.0.1:8101"
  tls_disable = true
  require_request_header = true
}
`, 'test.hcl', {});
    expect(errors).to.deep.equal([]);
    app = await startApp({ config, log: pino({ level: 'silent' }), logLevel: 'silent' });
    c = clients(app.extprocPort);
  });

  after(async () => {
    c.extproc.close();
    c.health.close();
    await app.stop(1_000);
    await sim.close();
  });

  it('serves gRPC health: SERVING once the auto-auth token is held', async () => {
    await waitFor('a token', () => (app.hasToken() ? true : undefined));
    const status = await new Promise<string>((resolve, reject) =>
      c.health.Check({ service: 'envoy.service.ext_proc.v3.ExternalProcessor' }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r.status))));
    expect(status).to.equal('SERVING');
  });

  it('answers /healthz and /readyz on the admin port', async () => {
    const healthz = await fetch(`http://127.0.0.1:${app.adminPort}/healthz`);
    expect(healthz.status).to.equal(200);
    expect(await healthz.json()).to.deep.equal({ status: 'ok' });
    const readyz = await fetch(`http://127.0.0.1:${app.adminPort}/readyz`);
    expect(readyz.status).to.equal(200);
  });

  it('applies the rules of the listener named in the stream metadata', async () => {
    const msg = { request_headers: headers({ ':method': 'GET', ':path': '/v1/secret/data/x' }) };
    const [first] = await exchange(c.extproc, [msg], '0');
    const [second] = await exchange(c.extproc, [msg], '1');
    expect(first).to.have.property('request_headers');
    expect(second!['immediate_response'].status.code).to.equal('PreconditionFailed');
  });

  it('answers a full request sequence with one reply of the matching kind per message', async () => {
    const replies = await exchange(c.extproc, [
      { request_headers: headers({ ':method': 'POST', ':path': '/v1/secret/data/x' }) },
      { request_body: { body: Buffer.from('{"data":{}}'), end_of_stream: true } },
      { response_headers: headers({ ':status': '200' }) },
      { response_body: { body: Buffer.from('{}'), end_of_stream: true } },
    ]);
    expect(replies.map((r) => r['response'])).to.deep.equal(['request_headers', 'request_body', 'response_headers', 'response_body']);
  });

  it('still answers request headers it cannot make sense of (no :path, odd values)', async () => {
    const [reply] = await exchange(c.extproc, [{ request_headers: { headers: { headers: [{ key: 'x-odd', raw_value: Buffer.from([0xff, 0x00]) }] } } }]);
    expect(reply).to.have.property('request_headers');
  });

  it('keeps serving after streams are cancelled mid-way', async () => {
    const md = new grpc.Metadata();
    const call: Duplex = c.extproc.Process(md);
    call.on('error', () => undefined);
    call.write({ request_headers: headers({ ':method': 'GET', ':path': '/v1/x' }) });
    call.cancel();
    const [reply] = await exchange(c.extproc, [{ request_headers: headers({ ':method': 'GET', ':path': '/v1/x' }) }]);
    expect(reply).to.have.property('request_headers');
  });
});
