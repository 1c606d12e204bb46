import type { FileSink } from '../config/types.js';
import type { VaultClient } from '../vault/client.js';
import { DhEncrypter } from './sinks/dh.js';
import { writeFileAtomically } from './sinks/file.js';
import { wrapToken } from './sinks/wrap.js';

/**
 * One `sink "file"` as Vault Agent's sink server writes it: the token response-wrapped when the
 * sink has wrap_ttl, then encrypted when it has dh_type, then written atomically with its mode and
 * owner. Keeps the sink's Diffie-Hellman state (its own key pair and the consumer's public key)
 * from one write to the next, as Agent does.
 */
export class SinkWriter {
  private readonly dh: DhEncrypter | undefined;

  constructor(readonly sink: FileSink) {
    this.dh = sink.dh ? new DhEncrypter(sink.dh) : undefined;
  }

  /**
   * `value` is the token, or with a wrapped login (the method's wrap_ttl) the wrap_info JSON,
   * which is never wrapped again (config check refuses wrap_ttl on both).
   */
  async write(value: string, vault: VaultClient | undefined): Promise<void> {
    let out = value;
    if (this.sink.wrapTtlSeconds) {
      if (!vault) throw new Error('a wrapped sink needs the Vault client');
      out = await wrapToken(vault, out, this.sink.wrapTtlSeconds);
    }
    if (this.dh) out = await this.dh.encrypt(out);
    await writeFileAtomically(this.sink, out);
  }
}

/** Writes one sink once (no kept DH state: a fresh key pair each call). */
export async function writeFileSink(sink: FileSink, token: string, vault?: VaultClient): Promise<void> {
  await new SinkWriter(sink).write(token, vault);
}
