import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Sealing of everything the persistent store holds: AES-256-GCM with a fresh 12-byte nonce per
 * write, and record names that are HMAC-SHA256 of what they name, so neither a name nor a value
 * shows a token, a path or a secret.
 *
 * Two keys are derived from the operator's 32-byte key with HKDF-SHA256 (one for sealing, one for
 * names), and a key id (4 bytes) tells a record sealed under another key from a damaged one.
 *
 * A sealed value: `version (1) | key id (4) | nonce (12) | ciphertext | tag (16)`. The additional
 * data binds it to its record name (and to the binding, e.g. the kubernetes flavour's service
 * account token), so a value moved under another name — two values swapped — fails to open.
 */
export const SEAL_VERSION = 1;
const KEY_ID_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;

export type RefusedReason = 'wrong_key' | 'tampered' | 'malformed' | 'other_vault';

export class SealError extends Error {
  constructor(readonly reason: RefusedReason, message: string) {
    super(message);
  }
}

export class Sealer {
  private readonly encKey: Buffer;
  private readonly nameKey: Buffer;
  readonly keyId: Buffer;
  private readonly binding: Buffer;

  /**
   * `key`: the operator's 32 bytes. `binding`: extra additional data every record is bound to
   * (empty for `persist "file"`; the service account token for `persist "kubernetes"`).
   */
  constructor(key: Buffer, binding: Buffer = Buffer.alloc(0)) {
    if (key.length !== 32) throw new Error('the persist key must be 32 bytes');
    const salt = Buffer.from('vault-extproc persist v1');
    this.encKey = Buffer.from(hkdfSync('sha256', key, salt, 'seal', 32));
    this.nameKey = Buffer.from(hkdfSync('sha256', key, salt, 'names', 32));
    this.keyId = Buffer.from(hkdfSync('sha256', key, salt, 'key id', KEY_ID_BYTES));
    this.binding = createHmac('sha256', this.nameKey).update('binding').update(binding).digest();
  }

  /** The record name for `kind` + `what`: base64url of HMAC-SHA256, prefixed by the kind letter. */
  name(kind: string, what: string): string {
    return `${kind}${createHmac('sha256', this.nameKey).update(kind).update('\u0000').update(what).digest('base64url')}`;
  }

  seal(name: string, plain: Uint8Array): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, nonce);
    cipher.setAAD(this.aad(name));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([SEAL_VERSION]), this.keyId, nonce, body, cipher.getAuthTag()]);
  }

  /** The plain bytes, or a SealError saying why not (never a partial result). */
  open(name: string, sealed: Uint8Array): Buffer {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (buf.length < HEADER_BYTES + TAG_BYTES || buf[0] !== SEAL_VERSION) throw new SealError('malformed', 'not a sealed record of this version');
    if (!buf.subarray(1, 1 + KEY_ID_BYTES).equals(this.keyId)) throw new SealError('wrong_key', 'sealed under another key');
    const nonce = buf.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, nonce);
    decipher.setAAD(this.aad(name));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError('tampered', 'the record does not authenticate (changed, moved under another name, or another binding)');
    }
  }

  private aad(name: string): Buffer {
    return Buffer.concat([Buffer.from(`vault-extproc/${SEAL_VERSION}\u0000${name}\u0000`), this.binding]);
  }
}
