import http from 'node:http';
import type { Logger } from '../telemetry/logger.js';

export interface Readiness {
  ready: boolean;
  reasons: string[];
  /** Ready, but running without something (fleet mode: Redis unreachable): 200 with status "degraded". */
  degraded?: string[];
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

/** Admin HTTP: /healthz (the process answers), /readyz (ready to serve requests), /metrics (Prometheus). */
/**
 * Test-only endpoints, served only when the process started with VAULT_EXTPROC_TEST_HOOKS=1:
 * `POST /test/worker/crash` makes the worker thread throw, `POST /test/worker/hang` makes it spin
 * forever (202; 409 when no worker runs).
 */
export interface AdminTestHooks {
  crashWorker(): boolean;
  hangWorker(): boolean;
}

export async function startAdminServer(address: string, readiness: () => Readiness, metrics: MetricsSource, log: Logger, testHooks?: AdminTestHooks): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      const r = readiness();
      const degraded = r.degraded ?? [];
      if (!r.ready) return send(503, { status: 'not ready', reasons: r.reasons, ...(degraded.length ? { degraded } : {}) });
      return send(200, degraded.length ? { status: 'degraded', degraded } : { status: 'ready' });
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        () => send(500, { errors: ['metrics unavailable'] }),
      );
      return;
    }
    if (testHooks && path === '/test/worker/crash' && req.method === 'POST') {
      const crashed = testHooks.crashWorker();
      log.warn({ component: 'admin', crashed }, 'test hook: crash the worker thread');
      return send(crashed ? 202 : 409, { crashed });
    }
    if (testHooks && path === '/test/worker/hang' && req.method === 'POST') {
      const hung = testHooks.hangWorker();
      log.warn({ component: 'admin', hung }, 'test hook: hang the worker thread');
      return send(hung ? 202 : 409, { hung });
    }
    send(404, { errors: [] });
  });
  const i = address.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(i + 1)), address.slice(0, i).replace(/^\[|\]$/g, ''), () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log.child({ component: 'admin' }).info({ address, port }, 'admin server listening');
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
