/**
 * Vault Enterprise's replication states (the `X-Vault-Index` header): base64 of
 * `v1:<cluster id>:<local index>:<replicated index>:<hmac hex>`. Vault Proxy keeps the newest one or
 * two it has seen and requires them on later requests (api.MergeReplicationStates); this is the
 * same rule, written from Vault's description of it. The HMAC is Vault's: never checked here.
 */
export interface WalState {
  clusterId: string;
  localIndex: bigint;
  replicatedIndex: bigint;
}

/** A state header's fields, or undefined when it is not one. */
export function parseReplicationState(raw: string): WalState | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw) || raw.length % 4 !== 0) return undefined;
  const text = Buffer.from(raw, 'base64').toString('latin1');
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1 || !/^[0-9a-fA-F]*$/.test(text.slice(lastColon + 1)) || text.slice(lastColon + 1).length % 2 !== 0) return undefined;
  const pieces = text.slice(0, lastColon).split(':');
  if (pieces.length !== 4 || pieces[0] !== 'v1' || pieces[1] === '') return undefined;
  if (!/^\d{1,20}$/.test(pieces[2]!) || !/^\d{1,20}$/.test(pieces[3]!)) return undefined;
  const localIndex = BigInt(pieces[2]!);
  const replicatedIndex = BigInt(pieces[3]!);
  if (localIndex > 0xffffffffffffffffn || replicatedIndex > 0xffffffffffffffffn) return undefined;
  return { clusterId: pieces[1]!, localIndex, replicatedIndex };
}

/** 1: a is as new or newer in both indexes; -1: older in both (or equal in one); 0: neither; undefined: not comparable. */
function compare(a: string, b: string): 1 | -1 | 0 | undefined {
  const w1 = parseReplicationState(a);
  const w2 = parseReplicationState(b);
  if (!w1 || !w2 || w1.clusterId !== w2.clusterId) return undefined;
  if (w1.localIndex >= w2.localIndex && w1.replicatedIndex >= w2.replicatedIndex) return 1;
  if (w1.localIndex <= w2.localIndex && w1.replicatedIndex <= w2.replicatedIndex) return -1;
  return 0;
}

/**
 * The states to require after seeing `next`: with none (or more than two) kept, just `next`; each
 * kept state is replaced by `next` when older, kept when newer, both kept when neither is newer;
 * anything that cannot be compared (another cluster, a malformed header) leaves just `next`.
 */
export function mergeReplicationStates(kept: readonly string[], next: string): string[] {
  if (kept.length === 0 || kept.length > 2) return [next];
  const out: string[] = [];
  for (const old of kept) {
    const c = compare(old, next);
    if (c === undefined) return [next];
    if (c === 1) out.push(old);
    else if (c === -1) out.push(next);
    else out.push(old, next);
  }
  return [...new Set(out)];
}

/** The states one vault-extproc process requires (Vault Proxy keeps them per process too). */
export class ReplicationStates {
  private kept: string[] = [];

  get current(): readonly string[] {
    return this.kept;
  }

  record(header: string): void {
    if (header !== '') this.kept = mergeReplicationStates(this.kept, header);
  }
}
