/**
 * The soak's HTTP client: keep-alive connections (as a client library keeps them), one answer
 * per call with status, the headers a client reads and the parsed JSON. Never logs anything.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  /** X-Cache, or null. */
  cache: string | null;
  json: any;
}

export class Client {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(baseUrl: string, maxSockets = 16) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** One request; rejects on a transport error or after `timeoutMs`. */
  request(method: string, path: string, token: string | undefined, body?: unknown, timeoutMs = 15_000): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['x-vault-token'] = token;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request({
        host: this.base.hostname, port: Number(this.base.port), method, path, headers, agent: this.agent, timeout: timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
          const cache = res.headers['x-cache'];
          resolve({ status: res.statusCode ?? 0, cache: typeof cache === 'string' ? cache : null, json });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
