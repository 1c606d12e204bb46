import http from 'node:http';
import net from 'node:net';

/**
 * One HTTP/1.1 request sent exactly as written: the method's letter case (`get`), the path's bytes
 * (`/./`, `//`, `%2F`, `..` are not cleaned), and headers in order with repeats. `fetch` and
 * Node's `http.request` upper-case the method, and `fetch` cleans the path: neither can send what
 * an attacker would.
 */
export interface RawRequest {
  method: string;
  /** Path and query, sent as is. */
  path: string;
  /** Name/value pairs in order; a name may repeat. */
  headers?: Array<[string, string]>;
  body?: string;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

export async function rawRequest(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const upper = req.method.toUpperCase();
  const flat: string[] = ['host', base.host, 'connection', 'close'];
  for (const [k, v] of req.headers ?? []) flat.push(k, v);
  if (req.body !== undefined) flat.push('content-length', String(Buffer.byteLength(req.body)));
  return await new Promise<RawResponse>((resolve, reject) => {
    const r = http.request({
      host: base.hostname,
      port: Number(base.port),
      method: upper,
      path: req.path,
      headers: flat,
      // No agent: one connection per request, made by createConnection below.
      timeout: req.timeoutMs ?? 15_000,
      // Node writes the method upper-cased: put the caller's spelling back on the wire.
      createConnection: () => {
        const socket = net.connect(Number(base.port), base.hostname);
        if (upper !== req.method) {
          const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
          let first = true;
          socket.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
            if (first) {
              first = false;
              const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1');
              if (text.startsWith(`${upper} `)) return write(`${req.method} ${text.slice(upper.length + 1)}`, 'latin1', ...rest.filter((x) => typeof x === 'function'));
            }
            return write(chunk, ...rest);
          }) as typeof socket.write;
        }
        return socket;
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`${req.method} ${req.path}: no answer in ${req.timeoutMs ?? 15_000} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}
