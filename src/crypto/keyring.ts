import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The keys a Sealer works with: the operator's 32-byte keys, newest first, each expanded with
 * HKDF-SHA256 (salt = the domain) into a sealing key, a name key and a 4-byte key id. The first
 * key seals and names what is written; every key opens (a sealed value names its key id).
 *
 * A domain keeps two uses of one operator key apart: the same key file given to `persist` and to
 * `fleet` derives unrelated keys, names and ids, so a record of one never opens as the other's.
 */
export const SEAL_DOMAINS = {
  /** The persistent store (src/persist/). Never change it: files written by earlier releases open with it. */
  persist: 'vault-extproc persist v1',
  /** The fleet's shared cache and event stream in Redis (src/fleet/). */
  fleet: 'vault-extproc fleet v1',
} as const;

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 4;

/** What one operator key derives (never the key itself). */
export interface DerivedKey {
  readonly id: Buffer;
  readonly sealKey: Buffer;
  readonly nameKey: Buffer;
  /** HMAC of the binding under this key's name key: part of every value's additional data. */
  readonly binding: Buffer;
}

export class Keyring {
  /** Newest first: `keys[0]` seals. */
  readonly keys: readonly DerivedKey[];
  private readonly byId = new Map<string, DerivedKey>();

  /**
   * `keys`: the operator's keys, newest first (at least one, 32 bytes each, no two alike).
   * `binding`: extra additional data every value is bound to (the kubernetes persist flavour's
   * service account token; empty otherwise).
   */
  constructor(keys: readonly Uint8Array[], domain: string, binding: Uint8Array = Buffer.alloc(0)) {
    if (keys.length === 0) throw new Error('a keyring needs at least one key');
    const salt = Buffer.from(domain);
    this.keys = keys.map((key, i) => {
      if (key.length !== KEY_BYTES) throw new Error(`key ${i + 1} of the keyring is ${key.length} bytes, not ${KEY_BYTES}`);
      const nameKey = Buffer.from(hkdfSync('sha256', key, salt, 'names', 32));
      return {
        id: Buffer.from(hkdfSync('sha256', key, salt, 'key id', KEY_ID_BYTES)),
        sealKey: Buffer.from(hkdfSync('sha256', key, salt, 'seal', 32)),
        nameKey,
        binding: createHmac('sha256', nameKey).update('binding').update(binding).digest(),
      };
    });
    for (const [i, k] of this.keys.entries()) {
      const hex = k.id.toString('hex');
      // The same key twice, or (one chance in 2^32) two keys with one id: a value could not say which opens it.
      if (this.byId.has(hex)) throw new Error(`key ${i + 1} of the keyring has the key id of an earlier key (the same key twice?)`);
      this.byId.set(hex, k);
    }
  }

  /** The key that seals and names new records. */
  get newest(): DerivedKey {
    return this.keys[0]!;
  }

  /** The key a value names by its id, if the ring holds it. */
  byKeyId(id: Uint8Array): DerivedKey | undefined {
    return this.byId.get(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'));
  }
}
