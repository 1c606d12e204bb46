/**
 * How a template's reads reach Vault, from the worker, always with the auto-auth token:
 * - a GET the static cache keeps (cache_static_secrets) is asked of the ext_proc side first
 *   (`template-lookup`): a hit is answered from the cache; after a miss the worker reads Vault and
 *   the answer is recorded there as a client's would be (`template-record`), so the cache's
 *   maintainer then keeps it true (KV events, refetches) and tells the templates when it changes;
 * - everything else goes to Vault directly (at most max_connections_per_host at once).
 */
import { replayableHeaders } from '../../cache/entry.js';
import { requestTarget, type VaultClient } from '../../vault/client.js';
import { HEADERS } from '../../vault/paths.js';
import type { ExtprocMessage, WorkerMessage } from '../protocol.js';
import type { DependencyIo, Fetched, Method } from './deps.js';

type Answer = Extract<ExtprocMessage, { type: 'template-answer' }>;

/** The ext_proc side does not answer a lookup in this long (it is busy or gone): read Vault directly. */
const LOOKUP_TIMEOUT_MS = 2_000;

export interface VaultIoOptions {
  vault: VaultClient;
  token(): string | undefined;
  /** The vault block's namespace (X-Vault-Namespace on every template read, as Vault Agent's template client). */
  namespace?: string;
  maxConnections: number;
  /** Whether the ext_proc side keeps a static cache to ask. */
  staticCache: boolean;
  send(msg: WorkerMessage): void;
}

export class TemplateVaultIo implements DependencyIo {
  private nextId = 1;
  private readonly pending = new Map<number, (a: Answer | undefined) => void>();
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly opts: VaultIoOptions) {}

  /** The ext_proc side's answer to a lookup. */
  answered(msg: Answer): void {
    const resolve = this.pending.get(msg.id);
    if (!resolve) return;
    this.pending.delete(msg.id);
    resolve(msg);
  }

  stop(): void {
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }

  async fetch(method: Method, path: string, body: unknown): Promise<Fetched> {
    // The functions give a decoded path (url.Parse's Path) and an encoded query: what goes on the wire
    // is Go's escaping of that path, and the cache keys exactly that wire form (never a resolved URL).
    const q = path.indexOf('?');
    const rel = (q < 0 ? path : path.slice(0, q)).replace(/^\/+/, '');
    const query = q < 0 ? '' : path.slice(q + 1);
    const target = requestTarget({ path: rel, decodedPath: true, query }).slice('/v1/'.length);
    // sys/ is never a KV secret: no need to ask the cache.
    const ask = this.opts.staticCache && method === 'GET' && !rel.startsWith('sys/');
    const lookup = ask ? await this.lookup(target) : undefined;
    if (lookup?.hit) {
      return { answer: { status: lookup.hit.status, text: Buffer.from(lookup.hit.body).toString('utf8') }, canonicalPath: lookup.key!.path };
    }
    const token = this.opts.token();
    const sentAtMs = Date.now();
    const reply = await this.limited(() => this.opts.vault.raw({
      method, path: rel, decodedPath: true, ...(query ? { query } : {}), ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}), ...this.nsHeaders(),
    }));
    const text = reply.body.toString('utf8');
    if (lookup?.key && token && reply.status >= 200 && reply.status < 300) {
      const date = Date.parse(reply.headers.get('date') ?? '');
      this.opts.send({
        type: 'template-record', key: lookup.key, token, sentAtMs,
        response: { status: reply.status, headers: replayableHeaders(reply.headers), body: new Uint8Array(reply.body), storedAtMs: Number.isNaN(date) ? Date.now() : date },
      });
    }
    return { answer: { status: reply.status, text }, ...(lookup?.key ? { canonicalPath: lookup.key.path } : {}) };
  }

  async renew(leaseId: string, incrementSeconds: number): Promise<number> {
    const token = this.opts.token();
    const reply = await this.limited(() => this.opts.vault.request<never>({
      method: 'PUT', path: 'sys/leases/renew', ...(token ? { token } : {}), body: { lease_id: leaseId, increment: incrementSeconds }, retry: false, ...this.nsHeaders(),
    }));
    const ttl = (reply.body as { lease_duration?: unknown } | undefined)?.lease_duration;
    return typeof ttl === 'number' ? ttl : 0;
  }

  private nsHeaders(): { headers?: Record<string, string> } {
    return this.opts.namespace ? { headers: { [HEADERS.vaultNamespace]: this.opts.namespace } } : {};
  }

  private lookup(path: string): Promise<Answer | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, LOOKUP_TIMEOUT_MS);
      timer.unref?.();
      this.pending.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.opts.send({ type: 'template-lookup', id, path, ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}) });
    });
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.maxConnections) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
