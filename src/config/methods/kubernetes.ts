import type { Problems } from '../problems.js';
import type { BlockReader } from '../reader.js';
import type { ConfigKeyLocation, MethodCommon } from './common.js';

// SKELETON (being implemented): the "kubernetes" method's config keys, as Vault Agent reads them.
export interface KubernetesMethod extends MethodCommon {
  type: 'kubernetes';
}

export function readKubernetes(config: BlockReader, common: MethodCommon): KubernetesMethod | undefined {
  config.blockServe('', 'auth method "kubernetes" is not implemented by vault-extproc yet: serve refuses to start');
  for (const key of Object.keys(config.raw)) config.accept(key);
  return { type: 'kubernetes', ...common };
}

/** The files serve needs, checked as `check` reports them. */
export function checkKubernetesFiles(_method: KubernetesMethod, _at: ConfigKeyLocation, _problems: Problems): void {}
