// Vault Agent 1.15.6 as the oracle: one real Vault dev server seeded with setup.json (pki included),
// the corpus rendered by real `vault agent` (every template that must render in one run; each one
// that must fail in a run of its own). Started once per mocha process and shared by both backends'
// suites: the real-Vault suite renders ours against this same Vault, the simulator suite compares
// the simulator's renders with these files.
import { startBackend, type Backend } from '../../support/backend.js';
import { CASES, type GoldenCase } from './cases.js';
import { removeRun, runSide, seed, type RunResult } from './harness.js';

export interface Oracle {
  vault: Backend;
  /** Every `render` case, one Vault Agent run. */
  batch: RunResult;
  /** Each `fail` case, its own Vault Agent run. */
  fails: Map<string, RunResult>;
}

let oracle: Promise<Oracle> | undefined;

export const RENDER_CASES: GoldenCase[] = CASES.filter((c) => c.expect === 'render');
export const FAIL_CASES: GoldenCase[] = CASES.filter((c) => c.expect === 'fail');

/** Same settings for both sides: exit_on_retry_failure, so a failing template ends the run (Agent would retry forever). */
export const RUN_OPTS = { exitOnRetryFailure: true };

export function agentOracle(): Promise<Oracle> {
  oracle ??= (async () => {
    const vault = await startBackend('real');
    try {
      await seed(vault, { pki: true });
      const batch = await runSide('agent', vault, vault.url, RENDER_CASES, RUN_OPTS);
      const fails = new Map<string, RunResult>();
      for (const c of FAIL_CASES) fails.set(c.name, await runSide('agent', vault, vault.url, [c], RUN_OPTS));
      return { vault, batch, fails };
    } catch (err) {
      await vault.close();
      throw err;
    }
  })();
  return oracle;
}

export async function closeOracle(): Promise<void> {
  if (!oracle) return;
  const o = await oracle.catch(() => undefined);
  oracle = undefined;
  if (!o) return;
  removeRun(o.batch);
  for (const r of o.fails.values()) removeRun(r);
  await o.vault.close();
}
