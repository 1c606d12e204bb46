// Shared by the Vault API conformance suites: each runs against the simulator and a real Vault
// (test/support/backend.ts), and a difference is a simulator bug unless noted here.
import { isSim, type BackendKind } from '../../support/backend.js';

/** An ACL denial (a multierror); a bad or missing token gets the plain 'permission denied'. */
export const DENIED = '1 error occurred:\n\t* permission denied\n\n';
/** go-uuid's GenerateUUID: random hex in the UUID layout, no version bits. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
export const HSTS = 'max-age=31536000; includeSubDomains';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The envelope's `mount_type` as this backend answers it. The simulator sends the mount's type,
 * as Vault 1.16+ does. The official 1.15.6 has no `mount_type` key at all; the real Vault these
 * suites build uses sdk v0.11.0, whose HTTPResponse always carries `"mount_type": ""`
 * (test/real-vault/README.md). That is an artefact of the build, not Vault behaviour to copy.
 */
export function mountType(kind: BackendKind, type: string): string {
  return isSim(kind) ? type : '';
}
