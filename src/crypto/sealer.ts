import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { KEY_ID_BYTES, Keyring, type DerivedKey } from './keyring.js';

/**
 * Sealing of everything we keep outside the process (the persistent store, the fleet's Redis):
 * AES-256-GCM with a fresh 12-byte nonce per write, and record names that are HMAC-SHA256 of what
 * they name, so neither a name nor a value shows a token, a path or a secret.
 *
 * A sealed value: `version (1) | key id (4) | nonce (12) | ciphertext | tag (16)`. The additional
 * data is `vault-extproc/1 \0 name \0 HMAC(binding)`: it binds the value to its record name (and
 * to the binding), so a value moved under another name — two values swapped — fails to open.
 * This format and the derivation (src/crypto/keyring.ts) are what `persist` has written since its
 * first release; a test opens bytes that release sealed.
 *
 * Key rotation: a keyring of keys, newest first; the newest seals, every key opens (the value's
 * key id says which). Record names are HMACs under a key of the ring too, and a record is named by
 * the key that sealed it: `names(kind, what)` gives its name under every key, newest first. A
 * reader asks for all of them at once (one MGET) and takes the value under the newest name that
 * has one (`openNewest`); found under an older key, the caller rewrites it under the newest name
 * and deletes the others. A writer sets the newest name and deletes the others (one MULTI), so a
 * record lives under one name (two only for a moment, between concurrent writers).
 *
 * Why not one stable name key (say from the oldest key)? The oldest key is the one a rotation
 * retires — often because it leaked — so its name key must go with it, and dropping it would
 * rename every record at once. With names per key, retiring a key drops exactly the records sealed
 * under it (no one could open them any more), nothing else; a ring of one key (the usual case)
 * costs one name per lookup, as before.
 *
 * Rotation is three steps, each rolled to every replica before the next (as Kubernetes rotates
 * its encryption-at-rest keys): 1. add the new key SECOND (every replica can open and delete what
 * it will seal); 2. move it FIRST (it seals from now on; reads migrate records); 3. remove the old
 * key once its records were rewritten or expired. While step 2 rolls out, a replica still on
 * step 1 moves what it reads back under the old key (harmless; it stops with the rollout). Step 1
 * matters: a replica that deletes a record (an eviction, a revocation) deletes it under every name
 * it knows, so no replica may write under a key the others do not know.
 *
 * A value that does not open is refused with a typed reason (SealError.reason), for metrics:
 * `wrong_key` (its key id is not in the ring), `tampered` (does not authenticate: changed bytes,
 * moved under another name, another binding — GCM cannot tell these apart), `malformed` (too short,
 * another format version).
 */
export const SEAL_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;

export type SealRefusal = 'wrong_key' | 'tampered' | 'malformed';

export class SealError extends Error {
  constructor(readonly reason: SealRefusal, message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** What `openNewest` found among a record's names. */
export interface NewestRecord {
  /** The plain bytes, when the newest value present opened. */
  plain?: Buffer;
  /** The value opened under an older key's name: write it again under `names[0]`. */
  rewrite: boolean;
  /** The newest value present did not open: never serve it; count it and delete it. */
  refused?: { name: string; reason: SealRefusal };
  /**
   * Names holding a value that must go: every name present but the newest key's (so, after a
   * rewrite, also the one it was found under); every name present on a refusal.
   */
  obsolete: string[];
}

export class Sealer {
  private readonly ring: Keyring;

  /**
   * `keys`: the operator's 32-byte keys, newest first. `domain`: the HKDF salt (SEAL_DOMAINS).
   * `binding`: extra additional data every value is bound to (empty unless the caller has one).
   */
  constructor(keys: readonly Uint8Array[], opts: { domain: string; binding?: Uint8Array }) {
    this.ring = new Keyring(keys, opts.domain, opts.binding);
  }

  /** The id of the key that seals (4 bytes). */
  get keyId(): Buffer {
    return this.ring.newest.id;
  }

  /** How many keys the ring holds (names per record). */
  get keyCount(): number {
    return this.ring.keys.length;
  }

  /** The record name for `kind` + `what` under the sealing key: the kind, then base64url of HMAC-SHA256. */
  name(kind: string, what: string): string {
    return nameUnder(this.ring.newest, kind, what);
  }

  /** Its name under every key of the ring, newest (sealing) first. */
  names(kind: string, what: string): string[] {
    return this.ring.keys.map((k) => nameUnder(k, kind, what));
  }

  /** Seals under the newest key, bound to `name` (which should be `name(…)`, the newest key's). */
  seal(name: string, plain: Uint8Array): Buffer {
    const key = this.ring.newest;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.sealKey, nonce);
    cipher.setAAD(aad(name, key));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([SEAL_VERSION]), key.id, nonce, body, cipher.getAuthTag()]);
  }

  /** The plain bytes, or a SealError saying why not (never a partial result). */
  open(name: string, sealed: Uint8Array): Buffer {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (buf.length < HEADER_BYTES + TAG_BYTES || buf[0] !== SEAL_VERSION) throw new SealError('malformed', 'not a sealed record of this version');
    const key = this.ring.byKeyId(buf.subarray(1, 1 + KEY_ID_BYTES));
    if (!key) throw new SealError('wrong_key', 'sealed under a key that is not in the keyring');
    const decipher = createDecipheriv('aes-256-gcm', key.sealKey, buf.subarray(1 + KEY_ID_BYTES, HEADER_BYTES));
    decipher.setAAD(aad(name, key));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError('tampered', 'the record does not authenticate (changed, moved under another name, or another binding)');
    }
  }

  /**
   * The reader's side of rotation: `values[i]` is what the store holds under `names[i]` (from
   * `names(…)`, one MGET), undefined or null when nothing. The newest value present decides: it
   * opens (rewrite when it is not under the newest name) or it is refused — an older value is
   * never served instead of a newer one that does not open (it may be what the newer replaced).
   */
  openNewest(names: readonly string[], values: ReadonlyArray<Uint8Array | null | undefined>): NewestRecord {
    const present = names.flatMap((name, i) => (values[i] ? [{ name, i, value: values[i] }] : []));
    const first = present[0];
    if (!first) return { rewrite: false, obsolete: [] };
    try {
      const plain = this.open(first.name, first.value);
      return { plain, rewrite: first.i > 0, obsolete: present.filter((p) => p.i > 0).map((p) => p.name) };
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      return { rewrite: false, refused: { name: first.name, reason: err.reason }, obsolete: present.map((p) => p.name) };
    }
  }
}

function nameUnder(key: DerivedKey, kind: string, what: string): string {
  return `${kind}${createHmac('sha256', key.nameKey).update(kind).update('\u0000').update(what).digest('base64url')}`;
}

function aad(name: string, key: DerivedKey): Buffer {
  return Buffer.concat([Buffer.from(`vault-extproc/${SEAL_VERSION}\u0000${name}\u0000`), key.binding]);
}
