import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import { configuredNamespace } from '../config/api-proxy.js';
import { VaultClient } from '../vault/client.js';
import { HEADERS } from '../vault/paths.js';
import { createAuthMethod } from './auth/index.js';
import { AutoAuth } from './auto-auth.js';
import type { AdoptedToken } from './host.js';
import type { ExtprocMessage, WorkerMessage } from './protocol.js';
import { StaticCacheMaintainer } from './static/maintainer.js';
import { LeaseRenewer } from './lease/renewer.js';
import { startTemplates, type TemplateRole } from './templates/index.js';

/** The worker role, whatever carries its messages: starts auto-auth and answers ext_proc's messages. */
export function runWorker(
  config: Config, log: Logger, send: (msg: WorkerMessage) => void,
  /** adopt: a restarted worker's predecessor's auto-auth token, taken over if Vault still honours it (worker/supervisor.ts). */
  opts: { adopt?: AdoptedToken } = {},
): { handle(msg: ExtprocMessage): void; done: Promise<void> } {
  const vault = new VaultClient(config.vault);
  for (const warning of vault.warnings) log.warn({ component: 'vault-client' }, warning);
  const autoAuthConfig = config.autoAuth;
  if (!autoAuthConfig || autoAuthConfig.method.type === 'unsupported') {
    // Nothing to do but answer the supervisor's heartbeat.
    return { handle: (msg) => { if (msg.type === 'ping') send({ type: 'pong', seq: msg.seq }); }, done: Promise.resolve() };
  }
  const method = autoAuthConfig.method;
  let token: string | undefined;
  let maintainer: StaticCacheMaintainer | undefined;
  let templates: TemplateRole | undefined;
  // The method's namespace (else the vault block's, VAULT_NAMESPACE first) on the login and renewals, as Vault Proxy.
  const authNamespace = configuredNamespace(config);
  const autoAuth: AutoAuth = new AutoAuth({
    vault: authNamespace ? vault.withHeaders({ [HEADERS.vaultNamespace]: authNamespace }) : vault,
    method: createAuthMethod(method),
    sinks: autoAuthConfig.sinks,
    log,
    minBackoffMs: method.minBackoffSeconds * 1000,
    maxBackoffMs: method.maxBackoffSeconds * 1000,
    exitOnError: method.exitOnError,
    exitAfterAuth: config.exitAfterAuth,
    reauthOnNewCredentials: autoAuthConfig.enableReauthOnNewCredentials,
    ...(opts.adopt ? { adopt: opts.adopt } : {}),
    ...(method.wrapTtlSeconds ? { loginWrap: { ttlSeconds: method.wrapTtlSeconds, mountPath: method.mountPath } } : {}),
    // jwt_read_period: how often Vault Agent's jwt method looks for a new JWT.
    ...(method.type === 'jwt' ? { credentialPollMs: method.jwtReadPeriodSeconds * 1000 } : {}),
    onToken: (t) => {
      token = t.token;
      maintainer?.tokenChanged();
      send({ type: 'token', token: t.token, leaseDurationSeconds: t.leaseDurationSeconds, renewable: t.renewable, obtainedAtMs: t.obtainedAtMs });
      templates?.tokenChanged();
    },
    // exit_after_auth with templates: exit once every template rendered (Vault Agent waits for its template server).
    onExit: (code, reason) => {
      if (templates && reason === 'exit_after_auth') void templates.firstRound.then((rendered) => { if (rendered) send({ type: 'exit', code, reason }); });
      else send({ type: 'exit', code, reason });
    },
    onMetric: (update) => send({ type: 'metric', update }),
  });
  maintainer = config.cache?.staticSecrets
    ? new StaticCacheMaintainer({
        cache: config.cache, vaultConfig: config.vault, vault, log,
        // A cached secret that changed re-renders the templates that read it.
        send: (m) => { send(m); templates?.seen(m); },
        autoAuthToken: () => token,
        onInvalidToken: () => autoAuth.suspect(),
      })
    : undefined;
  maintainer?.start();
  templates = startTemplates(config, vault, log, send, () => token);
  const renewer = config.cache?.leaseCache ? new LeaseRenewer(vault, log, send) : undefined;
  const done = autoAuth.run().then(async () => { if (config.exitAfterAuth) await templates?.firstRound; }).finally(() => {
    templates?.stop();
    maintainer?.stop();
    renewer?.stop();
    vault.close();
  });
  return {
    handle(msg) {
      switch (msg.type) {
        case 'token-suspect':
          autoAuth.suspect();
          return;
        case 'ping':
          send({ type: 'pong', seq: msg.seq });
          return;
        case 'stop':
          templates?.stop();
          maintainer?.stop();
          renewer?.stop();
          autoAuth.stop();
          return;
        case 'lease-track':
        case 'lease-untrack':
          renewer?.handle(msg);
          return;
        case 'static-access':
        case 'static-forget':
        case 'mount-lookup':
        case 'recheck':
        case 'token-revoked':
          maintainer?.handle(msg);
          return;
        case 'template-answer':
          templates?.handle(msg);
          return;
        default: {
          const never: never = msg;
          log.warn({ type: (never as { type: string }).type }, 'the worker got a message it does not know');
        }
      }
    },
    done,
  };
}
