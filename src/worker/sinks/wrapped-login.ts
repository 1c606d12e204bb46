import type { VaultClient, VaultReply, VaultRequest } from '../../vault/client.js';
import { HEADERS } from '../../vault/paths.js';
import type { VaultWrapInfo } from '../../vault/types.js';
import { encodeWrapInfo } from './wrap.js';

/**
 * A method's `wrap_ttl`: the login request is sent with X-Vault-Wrap-TTL, as Vault Agent's auth
 * handler does, so Vault answers with a wrapping token instead of the token. The method is handed
 * a client that adds the header to its login (a POST or PUT under `<mount_path>/`), keeps the
 * wrap_info, and gives the method an `auth` holding the wrapping token so it completes as usual.
 * Anything else the method asks first (an AppRole secret_id unwrap, say) is not wrapped.
 */
export class WrappedLogin {
  private captured: (VaultWrapInfo & { wrapped_accessor?: string }) | undefined;

  constructor(
    private readonly ttlSeconds: number,
    private readonly mountPath: string,
  ) {}

  /** A client for one login attempt over `base` (the method's own client, or the vault block's). */
  client(base: VaultClient): VaultClient {
    this.captured = undefined;
    const facade = Object.create(base) as VaultClient;
    facade.send = async <D>(req: VaultRequest): Promise<VaultReply<D>> => {
      if (!this.isLogin(req)) return base.send<D>(req);
      const reply = await base.send<D>({ ...req, headers: { ...req.headers, [HEADERS.wrapTtl]: `${this.ttlSeconds}s` } });
      const info = reply.body?.wrap_info;
      if (reply.status >= 200 && reply.status < 300 && reply.body && info?.token) {
        this.captured = info;
        reply.body = {
          ...reply.body,
          auth: {
            client_token: info.token, accessor: info.accessor ?? '', policies: [], token_policies: [],
            metadata: null, lease_duration: info.ttl, renewable: false, entity_id: '', token_type: 'service', orphan: false,
          },
        } as typeof reply.body;
      }
      return reply;
    };
    return facade;
  }

  /** The wrap_info JSON of the last login, as Vault Agent writes it to the sink; undefined when the login was not wrapped. */
  wrapInfoJson(): string | undefined {
    return this.captured ? encodeWrapInfo(this.captured) : undefined;
  }

  private isLogin(req: VaultRequest): boolean {
    const method = req.method ?? 'GET';
    const path = req.path.replace(/^\/+/, '');
    return (method === 'POST' || method === 'PUT') && path.startsWith(`${this.mountPath}/`);
  }
}
