import type { Config } from '../config/types.js';
import { unrouted } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { configuredNamespace } from '../config/api-proxy.js';
import { VaultClient } from '../vault/client.js';
import { HEADERS } from '../vault/paths.js';
import { createAuthMethod } from './auth/index.js';
import { AutoAuth } from './auto-auth.js';
import { FleetAutoAuth, type TermHooks } from './fleet-auto-auth.js';
import type { AdoptedToken } from './host.js';
import { SinkWriter } from './sink.js';
import type { ExtprocMessage, WorkerMessage } from './protocol.js';
import { StaticCacheMaintainer } from './static/maintainer.js';
import { LeaseRenewer } from './lease/renewer.js';
import { startTemplates, type TemplateRole } from './templates/index.js';

/** The worker role, whatever carries its messages: starts auto-auth and answers ext_proc's messages. */
export function runWorker(
  config: Config, log: Logger, send: (msg: WorkerMessage) => void,
  opts: {
    /** A restarted worker's predecessor's auto-auth token, taken over if Vault still honours it (worker/supervisor.ts). */
    adopt?: AdoptedToken;
    /** After a `stop` message, once the worker is done (worker/thread.ts closes its port). */
    afterStop?: () => void;
  } = {},
): { handle(msg: ExtprocMessage): void; done: Promise<void> } {
  const vault = new VaultClient(config.vault);
  for (const warning of vault.warnings) log.warn({ component: 'vault-client' }, warning);
  const autoAuthConfig = config.autoAuth;
  if (!autoAuthConfig || autoAuthConfig.method.type === 'unsupported') {
    // Nothing to do but answer the supervisor's heartbeat.
    const done = Promise.resolve();
    return { handle: (msg) => routeToWorker(msg, { send, log, afterStop: () => void done.finally(opts.afterStop) }), done };
  }
  const method = autoAuthConfig.method;
  let token: string | undefined;
  let maintainer: StaticCacheMaintainer | undefined;
  let templates: TemplateRole | undefined;
  // The method's namespace (else the vault block's, VAULT_NAMESPACE first) on the login and renewals, as Vault Proxy.
  const authNamespace = configuredNamespace(config);
  const authVault = authNamespace ? vault.withHeaders({ [HEADERS.vaultNamespace]: authNamespace }) : vault;
  // Fleet mode (config.fleet): only the owner logs in, renews and subscribes (src/worker/fleet-auto-auth.ts).
  const fleetMode = config.fleet !== undefined;
  const sinkWriters = fleetMode ? autoAuthConfig.sinks.map((sink) => new SinkWriter(sink)) : undefined;
  /** The worker's own token (a login, or one taken over): used here and handed to ext_proc. */
  const ownToken = (t: AdoptedToken): void => {
    token = t.token;
    maintainer?.tokenChanged();
    send({ type: 'token', token: t.token, leaseDurationSeconds: t.leaseDurationSeconds, renewable: t.renewable, obtainedAtMs: t.obtainedAtMs });
    templates?.tokenChanged();
  };
  const newAutoAuth = (adopt: AdoptedToken | undefined, hooks: TermHooks): AutoAuth => new AutoAuth({
    vault: authVault,
    method: createAuthMethod(method),
    sinks: autoAuthConfig.sinks,
    ...(sinkWriters ? { sinkWriters } : {}),
    log,
    minBackoffMs: method.minBackoffSeconds * 1000,
    maxBackoffMs: method.maxBackoffSeconds * 1000,
    exitOnError: method.exitOnError,
    exitAfterAuth: config.exitAfterAuth,
    reauthOnNewCredentials: autoAuthConfig.enableReauthOnNewCredentials,
    ...(adopt ? { adopt } : {}),
    ...(method.wrapTtlSeconds ? { loginWrap: { ttlSeconds: method.wrapTtlSeconds, mountPath: method.mountPath } } : {}),
    // jwt_read_period: how often Vault Agent's jwt method looks for a new JWT.
    ...(method.type === 'jwt' ? { credentialPollMs: method.jwtReadPeriodSeconds * 1000 } : {}),
    onToken: hooks.onToken,
    onRenewed: hooks.onRenewed,
    // exit_after_auth with templates: exit once every template rendered (Vault Agent waits for its template server).
    onExit: (code, reason) => {
      if (!hooks.current()) return;
      if (templates && reason === 'exit_after_auth') void templates.firstRound.then((rendered) => { if (rendered) send({ type: 'exit', code, reason }); });
      else send({ type: 'exit', code, reason });
    },
    onMetric: (update) => send({ type: 'metric', update }),
  });
  const onRenewed = (r: Omit<AdoptedToken, 'token'>): void => send({ type: 'token-renewed', ...r });
  const fleet = fleetMode
    ? new FleetAutoAuth({
        startTerm: newAutoAuth,
        held: opts.adopt,
        sinkWriters: sinkWriters ?? [],
        vault: authVault,
        log,
        onToken: ownToken,
        onRenewed,
        useToken: (t) => {
          token = t;
          maintainer?.tokenChanged();
          templates?.tokenChanged();
        },
        ownerChanged: (owner) => (owner ? maintainer?.subscribe() : maintainer?.unsubscribe()),
        minBackoffMs: method.minBackoffSeconds * 1000,
        maxBackoffMs: method.maxBackoffSeconds * 1000,
      })
    : undefined;
  const autoAuth: AutoAuth | FleetAutoAuth = fleet ?? newAutoAuth(opts.adopt, { onToken: ownToken, onRenewed, current: () => true });
  maintainer = config.cache?.staticSecrets
    ? new StaticCacheMaintainer({
        cache: config.cache, vaultConfig: config.vault, vault, log,
        send,
        // A cached secret that changed re-renders the templates that read it.
        secretChanged: (path) => templates?.staticChanged(path),
        autoAuthToken: () => token,
        onInvalidToken: () => autoAuth.suspect(),
        // Fleet mode: the owner subscribes (fleet-role), the others never do.
        subscribeAtStart: !fleetMode,
        // …and announces every KV change, also for secrets only other replicas hold.
        announceUnheld: fleetMode,
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
  const roles: WorkerRoles = {
    send, log, autoAuth, fleet, renewer, maintainer, templates,
    afterStop: () => void done.finally(opts.afterStop),
  };
  return { handle: (msg) => routeToWorker(msg, roles), done };
}

/** The worker's roles, as the router hands them messages (those not configured are absent). */
export interface WorkerRoles {
  send(msg: WorkerMessage): void;
  log: Logger;
  autoAuth?: Pick<AutoAuth, 'suspect' | 'stop'> | undefined;
  /** Fleet mode: the owner role and the shared token (the same object as autoAuth). */
  fleet?: FleetAutoAuth | undefined;
  renewer?: LeaseRenewer | undefined;
  maintainer?: StaticCacheMaintainer | undefined;
  templates?: TemplateRole | undefined;
  afterStop(): void;
}

/**
 * The one router of ext_proc's messages in the worker: every kind has its case, so a kind added to
 * ExtprocMessage without one does not compile. A message for a role that is not configured is dropped.
 */
export function routeToWorker(msg: ExtprocMessage, r: WorkerRoles): void {
  switch (msg.type) {
    case 'token-suspect':
      r.autoAuth?.suspect();
      return;
    case 'ping':
      r.send({ type: 'pong', seq: msg.seq });
      return;
    case 'stop':
      r.templates?.stop();
      r.maintainer?.stop();
      r.renewer?.stop();
      r.autoAuth?.stop();
      r.afterStop();
      return;
    case 'lease-track':
      r.renewer?.track(msg);
      return;
    case 'lease-untrack':
      r.renewer?.untrack(msg.key);
      return;
    case 'static-access':
      r.maintainer?.access(msg.path, msg.token);
      return;
    case 'static-forget':
      r.maintainer?.forget(msg.path);
      return;
    case 'static-drop':
      r.maintainer?.accessLost(msg.tokenHash, msg.paths);
      return;
    case 'mount-lookup':
      r.maintainer?.lookupMount(msg.path);
      return;
    case 'recheck':
      r.maintainer?.recheck(msg.seq);
      return;
    case 'token-revoked':
      r.maintainer?.tokenRevoked(msg.tokenHash);
      return;
    case 'template-answer':
      r.templates?.answered(msg);
      return;
    case 'fleet-role':
      r.fleet?.setOwner(msg.owner);
      return;
    case 'shared-token':
      r.fleet?.shared({ token: msg.token, leaseDurationSeconds: msg.leaseDurationSeconds, renewable: msg.renewable, obtainedAtMs: msg.obtainedAtMs });
      return;
    default:
      r.log.warn({ type: unrouted(msg) }, 'the worker got a message it does not know');
  }
}
