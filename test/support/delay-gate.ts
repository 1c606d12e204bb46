import net from 'node:net';
import { freePort } from './ports.js';

/**
 * A TCP forwarder on loopback that holds every chunk going to the server for `delayMs` before
 * passing it on (order kept): "Vault answers each request `delayMs` later", for whoever is pointed
 * at it (vault-extproc's worker and Envoy alike). Answers come back at once.
 */
export class DelayGate {
  private constructor(private readonly server: net.Server, private readonly sockets: Set<net.Socket>, readonly port: number) {}

  static async open(targetUrl: string, delayMs: number): Promise<DelayGate> {
    const target = new URL(targetUrl);
    const port = await freePort();
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.on('data', (chunk) => {
        setTimeout(() => { if (!upstream.destroyed) upstream.write(chunk); }, delayMs);
      });
      client.once('end', () => setTimeout(() => upstream.end(), delayMs));
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    return new DelayGate(server, sockets, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
