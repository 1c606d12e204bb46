import net from 'node:net';
import { freePort } from './ports.js';

/**
 * A TCP forwarder on a fixed loopback port in front of a server, which can refuse connections
 * (close) and take them again (reopen) on the same port: "the server is down" for a process that
 * cannot be stopped without losing its state (a real Vault dev server keeps everything in memory).
 */
export class TcpGate {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly port: number, private readonly targetHost: string, private readonly targetPort: number) {}

  static async open(targetHost: string, targetPort: number): Promise<TcpGate> {
    const gate = new TcpGate(await freePort(), targetHost, targetPort);
    await gate.reopen();
    return gate;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async reopen(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    this.server = server;
  }

  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.cutAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
