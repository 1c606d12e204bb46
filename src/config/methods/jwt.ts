import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "jwt" method's config keys, as Vault Agent reads them.
export interface JwtMethod extends MethodCommon {
  type: 'jwt';
}

export function readJwt(config: BlockReader, common: MethodCommon): JwtMethod | undefined {
  config.blockServe('', 'auth method "jwt" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'jwt', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkJwtFiles(_method: JwtMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
