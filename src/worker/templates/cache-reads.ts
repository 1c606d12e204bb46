/**
 * The ext_proc side of a template's read (runs in the main thread, called by src/cache-mediator.ts): a GET
 * the static cache would key for a client is keyed the same way (staticKeyOf on the request Envoy
 * would have sent, with the auto-auth token); a hit needs the auto-auth token's own proof of access
 * and a grant, exactly as a client's hit does, and counts as a hit. After a miss the worker reads
 * Vault itself and the answer is recorded as a client's answer would be: the auto-auth token's proof
 * of access, never anyone else's (StaticCache keeps proofs per token hash).
 */
import { kvRead } from '../../cache/kv-read.js';
import type { KvMounts } from '../../cache/kv-mounts.js';
import type { StaticCache } from '../../cache/static-cache.js';
import { staticKeyOf } from '../../cache/static-key.js';
import type { TokenGrants } from '../../cache/token-grants.js';
import { hashToken } from '../../cache/token-hash.js';
import type { StreamEffect } from '../../extproc/stream.js';
import type { Metrics } from '../../telemetry/metrics.js';
import { HEADERS } from '../../vault/paths.js';
import { parseVaultRequest } from '../../vault/request.js';
import type { ExtprocMessage, WorkerMessage } from '../protocol.js';

export interface CacheView {
  static?: StaticCache | undefined;
  grants?: TokenGrants | undefined;
  mounts: KvMounts;
  autoAuthHash: string | undefined;
  namespaces: boolean | undefined;
  metrics: Metrics;
  nowMs: number;
}

type Lookup = Extract<WorkerMessage, { type: 'template-lookup' }>;
type Record = Extract<WorkerMessage, { type: 'template-record' }>;
type Answer = Extract<ExtprocMessage, { type: 'template-answer' }>;

export function answerTemplateLookup(v: CacheView, msg: Lookup): Answer {
  if (!v.static || !v.grants || !v.autoAuthHash) return { type: 'template-answer', id: msg.id };
  const headers = new Map<string, string[]>([
    [':method', ['GET']],
    [':path', [`/v1/${msg.path.replace(/^\/+/, '')}`]],
    ['x-vault-token', ['(auto-auth)']],
    ...(msg.namespace ? [[HEADERS.vaultNamespace, [msg.namespace]] as [string, string[]]] : []),
  ]);
  const key = staticKeyOf(parseVaultRequest(headers), v.namespaces);
  if (!key) return { type: 'template-answer', id: msg.id };
  const hit = v.static.lookup(key, v.autoAuthHash);
  if (hit && v.grants.allows(v.autoAuthHash, v.nowMs)) {
    v.metrics.cacheHit.inc();
    return { type: 'template-answer', id: msg.id, key, hit: { status: hit.status, headers: hit.headers, body: hit.body, storedAtMs: hit.storedAtMs } };
  }
  v.metrics.cacheMiss.inc();
  return { type: 'template-answer', id: msg.id, key };
}

/**
 * Template answers whose mount was not known yet (Vault 1.15 does not name the mount type in
 * answers): kept (a few, briefly) and recorded once the worker told what the mount is, so the very
 * first render's read already becomes a proof of access that KV events keep true.
 */
export class PendingTemplateRecords {
  private pending: Array<{ msg: Record; atMs: number }> = [];

  /** The effects of a record now; an unknown mount keeps it for `retry`. */
  record(v: CacheView, msg: Record): StreamEffect[] {
    const effects = templateRecordEffects(v, msg);
    if (effects[0]?.type === 'mount-unknown') {
      this.pending = [...this.pending.filter((p) => p.msg.key.path !== msg.key.path || p.msg.key.version !== msg.key.version || p.msg.key.header !== msg.key.header), { msg, atMs: v.nowMs }].slice(-MAX_PENDING);
    }
    return effects;
  }

  /** A mount became known: the kept records that can be judged now. */
  retry(v: CacheView): StreamEffect[] {
    const out: StreamEffect[] = [];
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      if (v.nowMs - p.atMs > PENDING_MS) continue;
      const effects = templateRecordEffects(v, p.msg);
      if (effects[0]?.type === 'mount-unknown') keep.push(p);
      else out.push(...effects);
    }
    this.pending = keep;
    return out;
  }
}

const MAX_PENDING = 256;
const PENDING_MS = 30_000;

/** The effects a client's recorded answer would have had (static-record, or mount-unknown). */
export function templateRecordEffects(v: CacheView, msg: Record): StreamEffect[] {
  if (!v.static) return [];
  const read = kvRead(msg.key, Buffer.from(msg.response.body), v.mounts);
  if (read.kind === 'unknown-mount') return [{ type: 'mount-unknown', path: msg.key.path }];
  if (read.kind !== 'record') return [];
  return [{
    type: 'static-record', key: msg.key, token: msg.token, tokenHash: hashToken(msg.token), sentAtMs: msg.sentAtMs,
    response: { status: msg.response.status, headers: msg.response.headers, body: msg.response.body, storedAtMs: msg.response.storedAtMs },
    ...(read.kvVersion !== undefined ? { kvVersion: read.kvVersion } : {}),
  }];
}
