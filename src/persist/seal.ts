import { SEAL_DOMAINS } from '../crypto/keyring.js';
import { SealError, Sealer, type SealRefusal } from '../crypto/sealer.js';

/**
 * The persistent store's sealing: the shared Sealer (src/crypto/sealer.ts) with the one persist
 * key, under the persist domain — the derivation every release has written its files with.
 */
export { SealError, Sealer };

/** Why a persisted record was refused: it did not open, or it belongs to another Vault (persistence.ts). */
export type RefusedReason = SealRefusal | 'other_vault';

/**
 * `key`: the operator's 32 bytes. `binding`: extra additional data every record is bound to
 * (empty for `persist "file"`; the service account token for `persist "kubernetes"`).
 */
export function persistSealer(key: Buffer, binding: Buffer = Buffer.alloc(0)): Sealer {
  return new Sealer([key], { domain: SEAL_DOMAINS.persist, binding });
}
