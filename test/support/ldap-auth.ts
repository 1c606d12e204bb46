import type { Slapd } from './slapd.js';
import { vaultApi, writePolicy, type VaultTarget } from './vault-setup.js';

/** Vault's ldap auth mount pointed at the test's slapd: users found by uid under ou=people with a bind account. */
export async function setupLdapAuth(v: VaultTarget, slapd: Slapd, opts: { tokenTtl?: string; groupdn?: boolean } = {}): Promise<void> {
  await vaultApi(v, 'POST', 'sys/auth/ldap', { type: 'ldap' });
  await vaultApi(v, 'POST', 'auth/ldap/config', {
    url: slapd.url, userdn: slapd.peopleDn, userattr: 'uid', binddn: slapd.bindDn, bindpass: slapd.bindPassword,
    ...(opts.groupdn ? { groupdn: slapd.groupsDn } : {}),
    ...(opts.tokenTtl ? { token_ttl: opts.tokenTtl, token_max_ttl: '1h' } : {}),
  });
  await writePolicy(v, 'ldap-app', 'path "secret/data/ldap-app" { capabilities = ["read"] }');
  await vaultApi(v, 'POST', 'auth/ldap/users/alice', { policies: 'ldap-app' });
  await vaultApi(v, 'POST', 'secret/data/ldap-app', { data: { who: 'ldap' } });
}

