import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "aws" method's config keys, as Vault Agent reads them.
export interface AwsMethod extends MethodCommon {
  type: 'aws';
}

export function readAws(config: BlockReader, common: MethodCommon): AwsMethod | undefined {
  config.blockServe('', 'auth method "aws" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'aws', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkAwsFiles(_method: AwsMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
