import { expect } from 'chai';
import net from 'node:net';
import { forEachBackend, startBackend, type Backend } from '../support/backend.js';
import { showLogsOnFailure, startStack, type Stack } from '../support/stack.js';
import { vaultApi } from '../support/vault-setup.js';

/**
 * Vault as Envoy sees it: forwarded to the backend, or blackholed (connections accepted, never
 * answered, as a Vault behind a dropped route or a hung load balancer).
 */
class VaultFront {
  blackhole = false;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server, readonly url: string) {}

  static async open(target: { host: string; port: number }): Promise<VaultFront> {
    let front: VaultFront | undefined;
    const server = net.createServer((client) => {
      const f = front!;
      f.sockets.add(client);
      client.on('error', () => undefined).once('close', () => f.sockets.delete(client));
      if (f.blackhole) return;
      const upstream = net.connect(target.port, target.host);
      f.sockets.add(upstream);
      upstream.on('error', () => client.destroy()).once('close', () => { f.sockets.delete(upstream); client.destroy(); });
      client.once('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    front = new VaultFront(server, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    return front;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function envoyRunning(stack: Stack): Promise<boolean> {
  return (await Promise.race([stack.envoy.proc.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 200))]));
}

forEachBackend('e2e: long and many requests through Envoy 1.40 (ext_proc stream ends)', function (kind) {
  this.timeout(150_000);
  let vault: Backend;
  let front: VaultFront;
  let stack: Stack;
  showLogsOnFailure(() => [stack], () => vault);

  before(async () => {
    vault = await startBackend(kind);
    await vaultApi(vault, 'POST', 'secret/data/long', { data: { v: 'still here' } });
    const u = new URL(vault.serviceUrl);
    front = await VaultFront.open({ host: u.hostname, port: Number(u.port) });
    stack = await startStack({ vault: { url: vault.url, rootToken: vault.rootToken, serviceUrl: front.url }, hcl: () => '', waitReady: false });
  });
  after(async () => {
    await stack?.stop();
    await front?.close();
    await vault?.close();
  });

  it('a blackholed Vault: a client that waits 60 s gets Envoy\'s 504, one that gives up at 55 s leaves, and Envoy stays up and answers the next request', async () => {
    front.blackhole = true;
    const headers = { 'x-vault-token': vault.rootToken };
    const started = Date.now();
    const waiting = fetch(`${stack.url}/v1/secret/data/long`, { headers }).then(async (r) => ({ status: r.status, body: await r.text() }));
    const leaving = fetch(`${stack.url}/v1/secret/data/long`, { headers, signal: AbortSignal.timeout(55_000) }).then(
      (r) => `answered ${r.status}`,
      (err: Error) => err.name,
    );
    expect(await leaving).to.equal('TimeoutError');
    const answer = await waiting;
    // The route timeout (60 s) answered the client that waited.
    expect(answer).to.deep.equal({ status: 504, body: 'upstream request timeout' });
    expect(Date.now() - started).to.be.at.least(59_000);

    front.blackhole = false;
    // Envoy 1.40.0 with ext_proc's graceful close segfaulted as these two streams ended.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await envoyRunning(stack), 'Envoy is still running').to.equal(true);
    const next = await fetch(`${stack.url}/v1/secret/data/long`, { headers });
    expect(next.status).to.equal(200);
    expect((await next.json() as { data: { data: unknown } }).data.data).to.deep.equal({ v: 'still here' });
  });

  it('5,000 requests on 64 connections are all answered (stream resets stay within Node\'s HTTP/2 reset budget)', async () => {
    const statuses = new Map<number | string, number>();
    let sent = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (sent < 5_000) {
        sent++;
        const status = await fetch(`${stack.url}/v1/sys/health`).then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 'error');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }));
    expect(Object.fromEntries(statuses)).to.deep.equal({ 200: 5_000 });
    expect(await envoyRunning(stack)).to.equal(true);
  });
});
