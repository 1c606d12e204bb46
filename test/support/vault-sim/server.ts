// The HTTP listener: reads requests, hands them to the pipeline, records them, writes replies.
// Upgrade requests (event subscriptions) arrive on node:http's 'upgrade' event instead.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { canonicalHeader, errorReply, type Reply } from './envelope.js';
import type { EmittedEvent } from './events.js';
import { checkSubscribe, EventSockets, isSubscribeRequest } from './events-ws.js';
import { parseRequestUri } from './go-url.js';
import { attachConnection, originalMethod } from './method-shim.js';
import { handleHttp, type HttpInput } from './pipeline.js';
import { SimState, type ErrorStyle } from './state.js';
import type { ConsistencySim } from './consistency.js';
import { multiError } from './types.js';
import { OPENBAO_PROFILE } from './openbao.js';
import { VAULT_PROFILE, type SimProfileName } from './profile.js';

/** Vault's default max_request_size. */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export interface VaultSimOptions {
  port?: number;
  host?: string;
  rootToken?: string;
  errorStyle?: ErrorStyle;
  /** Mount the database secrets engine at `database/` from the start (default false). */
  mountDatabase?: boolean;
  /**
   * false (default): Vault Community 1.15.6, which has no namespaces: `X-Vault-Namespace` is
   * ignored (only echoed back) and sys/health's `version` is `1.15.6`. true: an Enterprise-like
   * profile (`1.15.6+ent`) where the header's namespace is prefixed to the request path, so a
   * namespace `ns1` is modelled as mounts under `ns1/` (mount `ns1/secret` for its KV).
   */
  namespaces?: boolean;
  /**
   * Vault Enterprise's consistency headers (consistency.ts): X-Vault-Index on writes, 412 for a
   * required state not reached (lag on purpose with `consistency.lag(n)` / `hold()`), forwarding by
   * header allowed. Default false (Vault CE: no index, forwarding headers refused with 400).
   */
  consistency?: boolean;
  /**
   * Which server to answer as: 'vault' (default) is Vault 1.15.6; 'openbao' is OpenBao 2.6.2 where
   * it differs (openbao.ts, each difference cited): no event stream, no `mount_type`, no legacy
   * `sys/renew`/`sys/revoke*` paths, namespaces always on, inline authentication, its sys/health
   * and sys/seal-status shapes.
   */
  profile?: SimProfileName;
}

export interface RecordedRequest {
  method: string;
  /** URL path as received, e.g. '/v1/secret/data/foo', without the query. */
  path: string;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  /** X-Vault-Token, else the Authorization: Bearer token. */
  token: string | undefined;
  status: number;
  /** Date.now() when the reply was ready. */
  at: number;
}

/** Test controls for the event stream (`sys/events/subscribe`). */
export interface VaultSimEvents {
  /** false: the subscribe path is an ordinary sys path (404, like Vault CE ≥ 1.16). Open sockets stay. */
  setAvailable(available: boolean): void;
  /** Terminates every subscriber socket without a close frame (the client sees 1006). */
  disconnectAll(): void;
  /** Sends `frame` to every subscriber as-is: a string as a text frame, a Buffer as a binary one. */
  sendRaw(frame: string | Buffer): void;
  subscriberCount(): number;
  /** Every event the KV engines emitted, subscribers or not, oldest first (clear it with `length = 0`). */
  readonly emitted: EmittedEvent[];
}

/** A live secret lease, as `leases.list()` reports it. */
export interface VaultSimLease {
  readonly id: string;
  /** Accessor of the token that read the secret; absent for batch tokens (they have none). */
  readonly tokenAccessor?: string;
  /** Wall-clock expiry, ms since the epoch. */
  readonly expiresAt: number;
  readonly renewable: boolean;
}

/** Test controls for secret leases (`sys/leases/*`, dynamic secrets). */
export interface VaultSimLeases {
  /**
   * While on, every lease renew endpoint (`sys/leases/renew[/id]`, `sys/renew[/id]`) answers
   * `status` after the ACL check: 500 `internal error`, 400 `lease is not renewable`,
   * 403 `permission denied`, 503 `Vault is sealed`, any other status `internal error`.
   */
  failRenewals(on: boolean, status?: number): void;
  /** Live leases (expired ones are swept first), oldest first. */
  list(): VaultSimLease[];
  /** Revokes a lease straight in "Vault", bypassing HTTP (not recorded); false if there was none. */
  revokeDirect(leaseId: string): boolean;
}

export interface VaultSim {
  readonly url: string;
  readonly port: number;
  readonly rootToken: string;
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  clearRequests(): void;
  /** Revokes a token tree directly, with every lease the revoked tokens own. */
  revokeToken(token: string): void;
  readonly events: VaultSimEvents;
  readonly leases: VaultSimLeases;
  /** The consistency profile's controls (lag on purpose); undefined without it. */
  readonly consistency: ConsistencySim | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /**
   * Also serves the same simulated Vault over TLS on a free port, as Vault's TLS listener does
   * with tls_require_and_verify_client_cert = false: a client certificate is asked for and
   * accepted unverified (tls.RequestClientCert), and handed to the request (the cert auth method
   * verifies it). Open until close().
   */
  listenTls(opts: { cert: string | Buffer; key: string | Buffer }): Promise<{ url: string; port: number }>;
}

function headerMap(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Every value of every header, in arrival order, under its lower-case name. */
function headerValuesOf(req: http.IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) (out[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return out;
}

/**
 * http/handler.go getTokenFromReq: the first `X-Vault-Token` value (r.Header.Get); when that is
 * empty, the first `Authorization` value that starts with `Bearer ` (case-sensitive), trimmed.
 */
export function tokenOf(values: Readonly<Record<string, readonly string[]>>): string | undefined {
  const vaultToken = values['x-vault-token']?.[0] ?? '';
  if (vaultToken !== '') return vaultToken;
  for (const v of values['authorization'] ?? []) {
    if (!v.startsWith('Bearer ')) continue;
    const token = v.slice('Bearer '.length).trim();
    return token === '' ? undefined : token;
  }
  return undefined;
}

export class VaultSimServer implements VaultSim {
  readonly requests: RecordedRequest[] = [];
  readonly state: SimState;
  private readonly host: string;
  private boundPort: number;
  /** node:http parses and answers; a plain TCP listener feeds it through the LIST method shim. */
  private readonly http = http.createServer((req, res) => this.onRequest(req, res))
    .on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    .on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // What Go's server writes itself for a request it cannot parse (a space in the target…).
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(err.code === 'HPE_HEADER_OVERFLOW' ? GO_HEADERS_TOO_LARGE : GO_BAD_REQUEST);
    });
  private readonly eventSockets: EventSockets;
  readonly events: VaultSimEvents;
  readonly leases: VaultSimLeases;
  get consistency(): ConsistencySim | undefined {
    return this.state.consistency;
  }
  private listener: net.Server | undefined;
  private readonly tlsListeners: tls.Server[] = [];
  /** What node:http sees as the socket of a TLS connection → the certificates its client presented. */
  private readonly tlsPeers = new WeakMap<object, Buffer[]>();
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  constructor(options: VaultSimOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.state = new SimState({
      rootToken: options.rootToken ?? 'root',
      errorStyle: options.errorStyle ?? 'legacy',
      mountDatabase: options.mountDatabase ?? false,
      namespaces: options.namespaces ?? false,
      consistency: options.consistency ?? false,
      profile: options.profile === 'openbao' ? OPENBAO_PROFILE : VAULT_PROFILE,
    });
    const bus = this.state.events;
    this.eventSockets = new EventSockets(bus);
    this.events = {
      setAvailable: (available) => { bus.available = available; },
      disconnectAll: () => bus.disconnectAll(),
      sendRaw: (frame) => bus.sendRaw(frame),
      subscriberCount: () => bus.subscriberCount(),
      emitted: bus.emitted,
    };
    const leases = this.state.leases;
    this.leases = {
      failRenewals: (on, status = 500) => { leases.renewFailure = on ? status : null; },
      list: () => leases.all().map((lease) => ({
        id: lease.id,
        ...(lease.tokenAccessor !== '' ? { tokenAccessor: lease.tokenAccessor } : {}),
        expiresAt: lease.expireMs,
        renewable: lease.renewable,
      })),
      revokeDirect: (leaseId) => leases.revoke(leaseId),
    };
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.boundPort}`;
  }

  get rootToken(): string {
    return this.state.rootToken;
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  revokeToken(token: string): void {
    this.state.tokens.revokeTree(token);
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('vault-sim: closed for good; start a new one');
    if (this.listener) return;
    const listener = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      attachConnection(this.http, socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.boundPort, this.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    this.listener = listener;
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    this.state.events.disconnectAll();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    await Promise.all(this.tlsListeners.splice(0).map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
  }

  async listenTls(opts: { cert: string | Buffer; key: string | Buffer }): Promise<{ url: string; port: number }> {
    const server = tls.createServer({ cert: opts.cert, key: opts.key, requestCert: true, rejectUnauthorized: false }, (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const chain: Buffer[] = [];
      // getPeerCertificate(true) links each certificate to its issuer; stop at a self-issued one.
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw && !chain.some((c) => c.equals(cert!.raw))) {
        chain.push(cert.raw);
        cert = cert.issuerCertificate;
      }
      this.tlsPeers.set(attachConnection(this.http, socket), chain);
    });
    server.on('tlsClientError', () => undefined);
    this.tlsListeners.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => { server.off('error', reject); resolve(); });
    });
    const port = (server.address() as net.AddressInfo).port;
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return { url: `https://${host}:${port}`, port };
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = originalMethod(req);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const input = inputOf(req, method, Buffer.concat(chunks).toString('utf8'), this.tlsPeers.get(req.socket));
      if (!input) {
        res.socket?.end(GO_BAD_REQUEST);
        return;
      }
      const send = (reply: Reply): void => {
        this.record(input, reply.status);
        res.writeHead(reply.status, outHeadersOf(reply, method));
        res.end(reply.status === 204 ? undefined : reply.body);
      };
      const reply = tooLarge ? errorReply(413, multiError(['http: request body too large'])) : this.safely(input);
      // A handler that calls out (the kubernetes login's TokenReview) answers later.
      if (reply instanceof Promise) void reply.then(send);
      else send(reply);
    });
  }

  /** Subscribe requests become WebSockets; any other upgrade request gets an ordinary reply. */
  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const method = originalMethod(req);
    const hasBody = Number(req.headers['content-length'] ?? '0') > 0;
    const input = inputOf(req, method, hasBody ? head.toString('utf8') : '');
    socket.on('error', () => socket.destroy());
    if (!input) {
      socket.end(GO_BAD_REQUEST);
      return;
    }
    if (isSubscribeRequest(this.state, input.path)) {
      const check = checkSubscribe(this.state, input);
      if ('ok' in check) {
        this.record(input, 101);
        this.eventSockets.accept(req, socket, head, check.ok);
        return;
      }
      this.record(input, check.reply.status);
      writeRawReply(socket, check.reply, method);
      return;
    }
    const send = (reply: Reply): void => {
      this.record(input, reply.status);
      writeRawReply(socket, reply, method);
    };
    const reply = this.safely(input);
    if (reply instanceof Promise) void reply.then(send);
    else send(reply);
  }

  private safely(input: HttpInput): Reply | Promise<Reply> {
    const failed = (err: unknown): Reply => errorReply(500, multiError([(err as Error).message]));
    try {
      const reply = handleHttp(this.state, input);
      return reply instanceof Promise ? reply.catch(failed) : reply;
    } catch (err) {
      return failed(err);
    }
  }

  private record(input: HttpInput, status: number): void {
    this.requests.push({
      method: input.method,
      path: input.rawPath,
      query: { ...input.query },
      headers: { ...input.headers },
      body: input.body,
      token: input.token,
      status,
      at: Date.now(),
    });
  }
}

/** The request as Vault's Go server reads it; undefined when Go refuses the request URI (400). */
function inputOf(req: http.IncomingMessage, method: string, body: string, tlsPeerCertificates?: Buffer[]): HttpInput | undefined {
  const uri = parseRequestUri(req.url ?? '/');
  if (!uri) return undefined;
  const headers = headerMap(req);
  const headerValues = headerValuesOf(req);
  const queryValues = Object.fromEntries(uri.query);
  const query = Object.fromEntries([...uri.query].map(([k, v]) => [k, v[0] ?? '']));
  return {
    method, rawPath: uri.rawPath, path: uri.path, rawQuery: uri.rawQuery, query, queryValues, headers, headerValues, body,
    token: tokenOf(headerValues),
    ...(tlsPeerCertificates ? { tlsPeerCertificates } : {}),
  };
}

/** What Go's server writes itself for a request line it cannot parse (then it closes). */
const GO_BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
const GO_HEADERS_TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large';

/** Go's net/http writes canonical header names (Cache-Control, Content-Type). */
function outHeadersOf(reply: Reply, method = ''): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(reply.headers)) out[canonicalHeader(name)] = value;
  // Go counts what the handler wrote; a HEAD handler that wrote nothing (a redirect) sends no length.
  if (reply.status !== 204 && !(method === 'HEAD' && reply.body === '')) out['Content-Length'] = Buffer.byteLength(reply.body);
  return out;
}

/** A reply written straight to an upgrade request's socket, which then closes. */
function writeRawReply(socket: Duplex, reply: Reply, method: string): void {
  const headers = outHeadersOf(reply);
  headers['Date'] = new Date().toUTCString();
  if (!('Connection' in headers)) headers['Connection'] = 'close';
  const head = [`HTTP/1.1 ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  const body = reply.status === 204 || method === 'HEAD' ? '' : reply.body;
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
