import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "ldap" method's config keys, as Vault Agent reads them.
export interface LdapMethod extends MethodCommon {
  type: 'ldap';
}

export function readLdap(config: BlockReader, common: MethodCommon): LdapMethod | undefined {
  config.blockServe('', 'auth method "ldap" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'ldap', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkLdapFiles(_method: LdapMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
