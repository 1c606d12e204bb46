import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "azure" method's config keys, as Vault Agent reads them.
export interface AzureMethod extends MethodCommon {
  type: 'azure';
}

export function readAzure(config: BlockReader, common: MethodCommon): AzureMethod | undefined {
  config.blockServe('', 'auth method "azure" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'azure', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkAzureFiles(_method: AzureMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
