import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "gcp" method's config keys, as Vault Agent reads them.
export interface GcpMethod extends MethodCommon {
  type: 'gcp';
}

export function readGcp(config: BlockReader, common: MethodCommon): GcpMethod | undefined {
  config.blockServe('', 'auth method "gcp" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'gcp', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkGcpFiles(_method: GcpMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
