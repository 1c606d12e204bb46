/** Vault API paths and header names, in one place. Paths are relative to /v1/. */
export const VAULT_PATHS = {
  lookupSelf: 'auth/token/lookup-self',
  renewSelf: 'auth/token/renew-self',
  unwrap: 'sys/wrapping/unwrap',
  wrappingLookup: 'sys/wrapping/lookup',
  health: 'sys/health',
} as const;

export const HEADERS = {
  vaultToken: 'x-vault-token',
  authorization: 'authorization',
  vaultRequest: 'x-vault-request',
  vaultNamespace: 'x-vault-namespace',
  wrapTtl: 'x-vault-wrap-ttl',
  wrapFormat: 'x-vault-wrap-format',
  contentType: 'content-type',
  xCache: 'x-cache',
  age: 'age',
  date: 'date',
} as const;
