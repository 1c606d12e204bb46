import net from 'node:net';
import { freePort } from './ports.js';

export interface TcpGateOptions {
  /**
   * Delay added to every chunk in each direction (so a request's round trip grows by twice this,
   * the TCP handshake aside): "a slow Vault" without touching Vault. Order is kept.
   */
  latencyMs?: number;
}

/**
 * A TCP forwarder on a fixed loopback port in front of a server, which can refuse connections
 * (close) and take them again (reopen) on the same port: "the server is down" for a process that
 * cannot be stopped without losing its state (a real Vault dev server keeps everything in memory).
 * It can also add latency, and reset every connection it accepts while counting them (resetting):
 * "Vault is unreachable", with a count of how often a client tried.
 */
export class TcpGate {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private resetting = false;
  /** Connections accepted since the gate opened (reset ones included). */
  accepted = 0;

  private constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
    private readonly options: TcpGateOptions,
  ) {}

  static async open(targetHost: string, targetPort: number, options: TcpGateOptions = {}): Promise<TcpGate> {
    const gate = new TcpGate(await freePort(), targetHost, targetPort, options);
    await gate.reopen();
    return gate;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async reopen(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      this.accepted++;
      if (this.resetting) {
        client.on('error', () => undefined);
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
    });
    this.server = server;
  }

  /** While on, every connection is accepted and reset at once (and counted); open ones are cut. */
  resetAll(on: boolean): void {
    this.resetting = on;
    if (on) this.cutAll();
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

  private forward(from: net.Socket, to: net.Socket): void {
    const latencyMs = this.options.latencyMs ?? 0;
    if (latencyMs <= 0) {
      from.pipe(to);
      return;
    }
    // Timers of one duration fire in the order they were set: chunks keep their order.
    from.on('data', (chunk: Buffer) => setTimeout(() => { if (!to.destroyed) to.write(chunk); }, latencyMs));
    from.on('end', () => setTimeout(() => { if (!to.destroyed) to.end(); }, latencyMs));
  }
}
