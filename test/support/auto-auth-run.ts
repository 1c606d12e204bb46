// Runs the worker's AutoAuth loop in the test process with one auth method (as
// test/integration/worker/auto-auth.test.ts does), collecting the tokens it obtains.
import { pino } from 'pino';
import type { VaultConfig } from '../../src/config/types.js';
import type { AuthMethod } from '../../src/worker/auth/index.js';
import { AutoAuth } from '../../src/worker/auto-auth.js';
import { VaultClient } from '../../src/vault/client.js';

export interface AutoAuthRun {
  auto: AutoAuth;
  vault: VaultClient;
  tokens: string[];
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts AutoAuth against `vault` (the vault block: address and TLS files); stop() ends it. */
export function runAutoAuth(vault: Partial<VaultConfig> & { address: string }, method: AuthMethod, extra: Partial<ConstructorParameters<typeof AutoAuth>[0]> = {}): AutoAuthRun {
  const tokens: string[] = [];
  const client = new VaultClient({ tlsSkipVerify: false, numRetries: 0, ...vault }, 5_000);
  const auto = new AutoAuth({
    vault: client, method, sinks: [], log: pino({ level: 'silent' }),
    minBackoffMs: 200, maxBackoffMs: 1_000, exitOnError: false, exitAfterAuth: false,
    onToken: (t) => tokens.push(t.token),
    onExit: () => undefined,
    ...extra,
  });
  const done = auto.run();
  return {
    auto, vault: client, tokens, done,
    stop: async () => {
      auto.stop();
      await done;
      client.close();
    },
  };
}
