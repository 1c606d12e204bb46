import { expect } from 'chai';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { VaultConfig } from '../../../src/config/types.js';
import { VaultClient } from '../../../src/vault/client.js';
import { VaultUnreachableError } from '../../../src/errors.js';
import { KvEventSubscriber } from '../../../src/worker/static/subscriber.js';
import { backendKinds, backendLabel, forEachBackend, REAL_VAULT_BINARY, startBackend, type Backend } from '../../support/backend.js';
import { freePort, sleep, waitFor } from '../../support/ports.js';
import { Proc } from '../../support/process.js';
import { makeTestPki, startTlsFront, type TestPki, type TlsFront } from '../../support/tls.js';
import { vaultApi } from '../../support/vault-setup.js';

forEachBackend('vault client: TLS to Vault (served over https with a test CA)', function (kind) {
  this.timeout(30_000);
  let sim: Backend;
  let pki: TestPki;
  let front: TlsFront;
  let named: TlsFront;
  let mtls: TlsFront;

  before(async () => {
    pki = makeTestPki();
    sim = await startBackend(kind);
    front = await startTlsFront(sim.port, { cert: pki.serverCert, key: pki.serverKey });
    named = await startTlsFront(sim.port, { cert: pki.namedCert, key: pki.namedKey });
    mtls = await startTlsFront(sim.port, { cert: pki.serverCert, key: pki.serverKey, requireClientCertFrom: pki.caCert });
  });
  after(async () => {
    await Promise.all([front.close(), named.close(), mtls.close()]);
    await sim.close();
  });

  async function lookup(config: Partial<VaultConfig> & { address: string }): Promise<unknown> {
    const client = new VaultClient({ tlsSkipVerify: false, numRetries: 0, ...config }, 5_000);
    try {
      const reply = await client.request<{ policies: string[] }>({ path: 'auth/token/lookup-self', token: 'root', retry: false });
      return reply.body?.data?.policies;
    } catch (err) {
      return err;
    } finally {
      client.close();
    }
  }

  it('a verified connection with ca_cert succeeds', async () => {
    expect(await lookup({ address: front.url, caCert: pki.caCert })).to.deep.equal(['root']);
  });

  it('ca_path (a directory of CA files) works too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-capath-'));
    copyFileSync(pki.otherCaCert, join(dir, 'other.pem'));
    copyFileSync(pki.caCert, join(dir, 'ca.pem'));
    expect(await lookup({ address: front.url, caPath: dir })).to.deep.equal(['root']);
  });

  it('the wrong CA fails with a clear error', async () => {
    const err = await lookup({ address: front.url, caCert: pki.otherCaCert });
    expect(err).to.be.instanceOf(VaultUnreachableError);
    expect((err as Error).message).to.match(/^Vault unreachable for auth\/token\/lookup-self: .*(self-signed certificate|unable to verify|certificate)/);
  });

  it('tls_skip_verify connects without verifying, and says so', async () => {
    expect(await lookup({ address: front.url, caCert: pki.otherCaCert, tlsSkipVerify: true })).to.deep.equal(['root']);
    const client = new VaultClient({ address: front.url, tlsSkipVerify: true, numRetries: 0 });
    expect(client.warnings).to.deep.equal(["tls_skip_verify is set: Vault's certificate is not verified"]);
    client.close();
  });

  it('tls_server_name checks the certificate against that name', async () => {
    const withoutName = await lookup({ address: named.url, caCert: pki.caCert });
    expect(withoutName).to.be.instanceOf(VaultUnreachableError);
    expect((withoutName as Error).message).to.include("Hostname/IP does not match certificate's altnames");
    expect(await lookup({ address: named.url, caCert: pki.caCert, tlsServerName: 'vault.test' })).to.deep.equal(['root']);
  });

  it('client_cert and client_key authenticate to a Vault that requires them', async () => {
    expect(await lookup({ address: mtls.url, caCert: pki.caCert })).to.be.instanceOf(VaultUnreachableError);
    expect(await lookup({ address: mtls.url, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey })).to.deep.equal(['root']);
  });
  // The KV-event websocket connects with the HTTP client's own settings (VaultClient.connection):
  // against a Vault served with a private CA it subscribes, instead of failing the handshake and
  // leaving the cache to the refresh interval.
  describe('the KV-event websocket uses the same TLS settings', () => {
    interface Subscription { frames: string[]; connected: number; logs: string[]; stop(): void }

    function subscribe(config: Partial<VaultConfig> & { address: string }): Subscription {
      const client = new VaultClient({ tlsSkipVerify: false, numRetries: 0, ...config }, 5_000);
      const logs: string[] = [];
      const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
      const out: Subscription = { frames: [], connected: 0, logs, stop: () => { sub.stop(); client.close(); } };
      const sub = new KvEventSubscriber({
        connection: client.connection,
        token: () => sim.rootToken,
        onFrame: (f) => out.frames.push(f),
        onConnected: () => { out.connected++; },
        onAvailability: () => undefined,
        onInvalidToken: () => undefined,
        log: pino({ level: 'debug' }, sink),
        minBackoffMs: 100,
        maxBackoffMs: 500,
      });
      sub.start();
      subscriptions.push(out);
      return out;
    }
    const subscriptions: Subscription[] = [];
    afterEach(() => { for (const s of subscriptions.splice(0)) s.stop(); });

    /** Subscribes, writes a KV secret, and returns once the write's event arrived over TLS. */
    async function eventArrives(config: Partial<VaultConfig> & { address: string }, name: string): Promise<void> {
      const s = subscribe(config);
      await waitFor('the subscription over TLS', () => (s.connected > 0 ? true : undefined), 10_000);
      const path = `secret/data/tls-events/${name}`;
      await waitFor(`the event of a write to ${path}`, async () => {
        await vaultApi(sim, 'POST', path, { data: { v: String(Date.now()) } });
        await sleep(200);
        return s.frames.some((f) => f.includes(`tls-events/${name}`)) ? true : undefined;
      }, 10_000, 0);
    }

    it('ca_cert: subscribes to a Vault served with a private CA and receives a KV write', async () => {
      await eventArrives({ address: front.url, caCert: pki.caCert }, 'ca-cert');
    });

    it('ca_path works for events too', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vxp-capath-'));
      copyFileSync(pki.caCert, join(dir, 'ca.pem'));
      await eventArrives({ address: front.url, caPath: dir }, 'ca-path');
    });

    it('tls_server_name is the name the websocket checks the certificate against', async () => {
      await eventArrives({ address: named.url, caCert: pki.caCert, tlsServerName: 'vault.test' }, 'server-name');
    });

    it('client_cert and client_key are presented by the websocket too (mTLS)', async () => {
      await eventArrives({ address: mtls.url, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }, 'mtls');
    });

    it('the wrong CA: no subscription, and the log says why', async () => {
      const s = subscribe({ address: front.url, caCert: pki.otherCaCert });
      await waitFor('the handshake error in the log', () => (s.logs.some((l) => l.includes('KV event stream error') && /certificate/.test(l)) ? true : undefined), 10_000);
      expect(s.connected).to.equal(0);
    });
  });
});

// A real Vault serving TLS itself with its own private CA (`-dev-tls`): the HTTP client and the
// KV-event websocket both verify it with ca_cert alone (no TLS front in between).
// Registered for a real Vault only: the simulator has no TLS listener of its own (the suite above
// covers it through a TLS front).
if (backendKinds().includes('real')) describe(`vault client: a Vault that serves TLS itself (-dev-tls) ${backendLabel('real')}`, function () {
  this.timeout(60_000);
  let vault: Proc;
  let address: string;
  let caCert: string;
  const closers: Array<() => void> = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxp-devtls-'));
    const port = await freePort();
    vault = new Proc('vault', REAL_VAULT_BINARY, [
      'server', '-dev', '-dev-tls', `-dev-tls-cert-dir=${dir}`, '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token',
    ], { PATH: process.env['PATH'] ?? '', HOME: dir, VAULT_LOG_LEVEL: 'warn' });
    address = `https://127.0.0.1:${port}`;
    caCert = join(dir, 'vault-ca.pem');
    const probe = (): VaultClient => new VaultClient({ address, caCert, tlsSkipVerify: false, numRetries: 0 }, 2_000);
    await waitFor('Vault -dev-tls answering over https', async () => {
      if (vault.output.length === 0) return undefined; // not started yet
      const c = probe();
      try {
        return (await c.request({ path: 'sys/health', retry: false })).status === 200 ? true : undefined;
      } finally {
        c.close();
      }
    }, 30_000, 200);
  });
  after(async () => {
    for (const close of closers.splice(0)) close();
    await vault?.stop();
  });

  function subscribe(withCa: boolean): { frames: string[]; connected: () => boolean; logs: string[]; client: VaultClient } {
    const client = new VaultClient({ address, tlsSkipVerify: false, numRetries: 0, ...(withCa ? { caCert } : {}) }, 5_000);
    const frames: string[] = [];
    const logs: string[] = [];
    let connected = false;
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
    const sub = new KvEventSubscriber({
      connection: client.connection,
      token: () => 'root',
      onFrame: (f) => frames.push(f),
      onConnected: () => { connected = true; },
      onAvailability: () => undefined,
      onInvalidToken: () => undefined,
      log: pino({ level: 'debug' }, sink),
      minBackoffMs: 100,
      maxBackoffMs: 500,
    });
    sub.start();
    closers.push(() => { sub.stop(); client.close(); });
    return { frames, connected: () => connected, logs, client };
  }

  it('with ca_cert: the websocket subscribes and receives the event of a KV write made over the same TLS', async () => {
    const s = subscribe(true);
    await waitFor('the subscription', () => (s.connected() ? true : undefined), 10_000);
    await waitFor('the event of the write', async () => {
      await s.client.request({ method: 'POST', path: 'secret/data/dev-tls/one', token: 'root', body: { data: { v: String(Date.now()) } } });
      await sleep(200);
      return s.frames.some((f) => f.includes('dev-tls/one')) ? true : undefined;
    }, 10_000, 0);
  });

  it('without the CA the handshake fails, and the log says why (what happened to events before the fix, with ca_cert set)', async () => {
    const s = subscribe(false);
    await waitFor('the handshake error in the log', () => (s.logs.some((l) => l.includes('KV event stream error') && /certificate/.test(l)) ? true : undefined), 10_000);
    expect(s.connected()).to.equal(false);
  });
});

