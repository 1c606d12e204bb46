/** The parts of Vault's response envelope the service reads. */
export interface VaultAuth {
  client_token: string;
  accessor: string;
  policies: string[] | null;
  lease_duration: number;
  renewable: boolean;
  orphan?: boolean;
  token_type?: string;
}

export interface VaultWrapInfo {
  token: string;
  ttl: number;
  creation_path: string;
  creation_time?: string;
  accessor?: string;
}

export interface VaultEnvelope<D = Record<string, unknown>> {
  request_id?: string;
  lease_id?: string;
  renewable?: boolean;
  lease_duration?: number;
  data: D | null;
  auth: VaultAuth | null;
  wrap_info: VaultWrapInfo | null;
  warnings: string[] | null;
  mount_type?: string;
}

export interface TokenLookupData {
  id: string;
  accessor: string;
  ttl: number;
  renewable?: boolean;
  policies: string[];
  expire_time: string | null;
}
