// What the simulator's gcp and azure auth methods share (their token fields are token-util.ts):
// RS256 JWTs, and outbound HTTP the way Vault's Go client makes it (HTTPS_PROXY and SSL_CERT_FILE
// honoured, as net/http and crypto/x509 do for a real Vault).
import { createPublicKey, createVerify, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface Jws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** A compact JWS, or the number of parts it has when it is not one. */
export function parseJws(token: string): Jws | number {
  const parts = token.split('.');
  if (parts.length !== 3) return parts.length;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return -1;
  }
}

/** Whether an RS256 signature verifies with a PEM certificate/key or a JWK. */
export function rs256Verifies(jws: Jws, key: string | JsonWebKey): boolean {
  try {
    const pub = typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
    const v = createVerify('RSA-SHA256');
    v.update(jws.signingInput);
    return v.verify(pub, jws.signature);
  } catch {
    return false;
  }
}

export interface GoReply {
  status: number;
  text: string;
}

/**
 * A GET or POST as a real Vault's Go HTTP client makes it: plain fetch for http and loopback;
 * for https elsewhere, through HTTPS_PROXY (a CONNECT tunnel) when set, trusting SSL_CERT_FILE's
 * CAs when set. Throws on network failures.
 */
export async function goHttp(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<GoReply> {
  const u = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  const proxy = process.env['HTTPS_PROXY'] || process.env['https_proxy'];
  const caFile = process.env['SSL_CERT_FILE'];
  if (u.protocol === 'http:' || loopback || (!proxy && !caFile)) {
    const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, text: await res.text() };
  }
  const ca = caFile ? readFileSync(caFile) : undefined;
  const port = Number(u.port || 443);
  let socket: import('node:net').Socket | undefined;
  if (proxy) {
    socket = await new Promise((resolve, reject) => {
      const p = new URL(proxy);
      const req = http.request({ host: p.hostname, port: Number(p.port || 80), method: 'CONNECT', path: `${u.hostname}:${port}`, timeout: 10_000 });
      req.on('connect', (res, s) => (res.statusCode === 200 ? resolve(s) : reject(new Error(`proxyconnect tcp: ${res.statusCode}`))));
      req.on('error', reject);
      req.end();
    });
  }
  // One connection for this request: over the tunnel when there is one.
  const agent = new https.Agent({ keepAlive: false, ...(ca ? { ca } : {}) });
  if (socket) {
    const tunnel = socket;
    (agent as unknown as { createConnection: () => tls.TLSSocket }).createConnection = () => tls.connect({ socket: tunnel, servername: u.hostname, ...(ca ? { ca } : {}) });
  }
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: u.hostname, port, path: `${u.pathname}${u.search}`, method: init.method ?? 'GET', headers: init.headers,
      servername: u.hostname, ...(ca ? { ca } : {}), timeout: 10_000, agent,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { agent.destroy(); resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.on('error', (err) => { agent.destroy(); reject(err); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(init.body);
  });
}
