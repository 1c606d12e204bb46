import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "cert" method's config keys, as Vault Agent reads them.
export interface CertMethod extends MethodCommon {
  type: 'cert';
}

export function readCert(config: BlockReader, common: MethodCommon): CertMethod | undefined {
  config.blockServe('', 'auth method "cert" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'cert', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkCertFiles(_method: CertMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
