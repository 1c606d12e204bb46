// The OpenBao 2.x profile (`startVaultSim({ profile: 'openbao' })`): where OpenBao's server answers
// differently from Vault 1.15.6, and nothing else. OpenBao's server module cannot be fetched here,
// so each difference below was read in OpenBao's source at tag v2.6.2
// (openbao/openbao@dd9c19c37a878cf4a81b18efb8d6f0599c7da923, "OB" below) or its docs and cites the
// place; nothing of OpenBao's code is copied. A real OpenBao server has not checked this profile.
import { errorReply, type Reply } from './envelope.js';
import { namespaceNotFound, namespaceRoutes } from './openbao-namespaces.js';
import type { HttpInput } from './pipeline.js';
import type { SimProfile } from './profile.js';
import type { SimState } from './state.js';

/** The release this profile answers as (OB CHANGELOG.md:1, 2.6.2 of August 18, 2026). */
export const OPENBAO_VERSION = '2.6.2';

/**
 * The default policy: Vault 1.15.6's minus two paths. OB vault/policy/policy_store.go:54-138 has
 * neither `sys/renew` (dropped with the legacy lease endpoints, openbao/openbao#3152, commit
 * c0495646b4) nor `sys/control-group/request` (Enterprise control groups).
 */
function openbaoDefaultPolicy(vaultText: string): string {
  const without = (text: string, path: string): string => {
    const block = new RegExp(`path "${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" \\{[^}]*\\}\\n`);
    if (!block.test(text)) throw new Error(`vault-sim: the default policy has no "${path}" block`);
    return text.replace(block, '');
  };
  return without(without(vaultText, 'sys/renew'), 'sys/control-group/request')
    .replace(/# Allow checking the status of a Control Group request if the user has the\n# accessor\n/, '');
}

/**
 * genericWrapping refuses, with any X-Vault-Namespace header (even `root`), the sys/ paths that
 * only the root namespace has and that core answers outside the logical layer: 400
 * `operation unavailable in namespaces` (OB http/handler.go:109-124 restrictedSysAPIsNonLogical,
 * :404-411). Of those the simulator serves only sys/health; sys/seal-status is not in the list.
 */
const ROOT_ONLY_NON_LOGICAL = ['health'];

function beforeApi(_state: SimState, input: HttpInput): Reply | undefined {
  const ns = input.headerValues['x-vault-namespace']?.[0] ?? '';
  if (ns === '' || !input.path.startsWith('/v1/sys/')) return undefined;
  const rest = input.path.slice('/v1/sys/'.length);
  // pathmanager HasPathSegments: the path, or the path followed by `/…`.
  if (ROOT_ONLY_NON_LOGICAL.some((p) => rest === p || rest.startsWith(`${p}/`))) {
    return errorReply(400, 'operation unavailable in namespaces');
  }
  return undefined;
}

export const OPENBAO_PROFILE: SimProfile = {
  name: 'openbao',
  // version.GetVersion().VersionNumber(): the bare release, no `+ent` (OB version/version.go:39-55).
  version: () => OPENBAO_VERSION,
  // Namespaces are in the open-source server since 2.3 (OB CHANGELOG.md:699 "**Namespaces**:
  // Support for tenant isolation using namespaces, application API compatible with upstream's"),
  // and must be created (sys/namespaces) before a request may name one (openbao-namespaces.ts).
  namespacesAlways: true,
  extraSysRoutes: namespaceRoutes,
  namespaceCheck: namespaceNotFound,
  // OB http/sys_health.go:170-180 HealthResponse: no `performance_standby` (Vault 1.15.6 has it),
  // no `enterprise`, `license`, `last_wal`; docs https://openbao.org/api-docs/system/health
  // (website/content/docs/api/system/health.mdx:57-68). Replication modes are "disabled"
  // (OB vault/core.go:977).
  health: (state) => ({
    initialized: true,
    sealed: false,
    standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(state.now() / 1000),
    version: state.version,
    cluster_name: state.clusterName,
    cluster_id: state.clusterId,
  }),
  // OB vault/logical_system.go:4435-4458 CoreSealStatusResponse: the embedded SealStatusResponse
  // first (type … nonce, recovery_seal), then version, `commit_date` (Vault: `build_date`),
  // migration, cluster_name, cluster_id, storage_type. The date is goreleaser's build date
  // (goreleaser.linux.yaml:11 `version.CommitDate={{ .Date }}`); the simulator uses the v2.6.2
  // commit's time in UTC.
  sealStatus: (state) => ({
    type: 'shamir', initialized: true, sealed: false, t: 1, n: 1, progress: 0, nonce: '', recovery_seal: false,
    version: state.version, commit_date: '2026-08-18T15:43:05Z', migration: false,
    cluster_name: state.clusterName, cluster_id: state.clusterId, storage_type: 'inmem',
  }),
  // OB sdk/logical/translate_response.go:92-102 HTTPResponse has no `mount_type` field: the key is
  // absent from every envelope (Vault 1.16+ names the mount type there; 1.15.6 has no key either).
  envelopeMountType: false,
  // No event stream: OB http/handler.go:157-241 registers no events handler (its
  // additionalRoutes hook is empty, http/util.go:34) and
  // vault/logical_system_paths.go has no `events/` path, so `sys/events/subscribe/…` is an
  // ordinary sys/ path without a route: 404 `unsupported path` once the ACL allows the request
  // (403 before), WebSocket upgrade or not. No docs page either (website/content/docs/api/system/).
  eventStream: false,
  // The legacy lease endpoints are gone since 2.5.4 and 2.6.0 (openbao/openbao#3152, backport #3153;
  // GHSA-v8v8-cm84-m686 / CVE-2026-45808; OB CHANGELOG.md:306): the sys backend's patterns are
  // `leases/renew`, `leases/revoke`, `leases/revoke-force/…`, `leases/revoke-prefix/…` only
  // (OB vault/logical_system_paths.go:2684, :2726, :2769, :2804; Vault 1.15.6 has `(leases/)?renew` …).
  removedSysRoutes: [
    'renew', 'renew/*url_lease_id', 'revoke', 'revoke/*url_lease_id', 'revoke-prefix/*prefix', 'revoke-force/*prefix',
  ],
  defaultPolicy: openbaoDefaultPolicy,
  beforeApi,
  // Token-less inline authentication (inline-auth.ts).
  inlineAuth: true,
  // A recursive list: the method SCAN, or GET with `scan=<bool>` (`list` and `scan` both true: a
  // bare 400), the path gaining a trailing `/` (OB http/logical.go:59-83, :169-174); `scan` is a
  // policy capability looked up as `list` is (OB vault/policy/policy.go:36, acl.go:394);
  // KV v2 scans `metadata/<prefix>` (OB builtin/logical/kv/path_metadata.go:38-118 (ScanOperation :108), :250-299,
  // logical.ScanView's depth-first order, sdk/logical/storage.go:109-150); a scan with no keys is
  // 200 `data: {}` (sdk/logical/response.go:144-152; RespondErrorCommon 404s only reads and lists).
  // Docs: https://openbao.org/docs/concepts/policies (website/content/docs/concepts/policies.mdx:259).
  scan: true,
  // KV v2's invalid-path warning names OpenBao's CLI, and its catch-all path takes scans too
  // (OB builtin/logical/kv/backend.go:167-208: "If using the OpenBao CLI, use 'bao kv %s'…").
  cli: { name: 'OpenBao', command: 'bao' },
};
