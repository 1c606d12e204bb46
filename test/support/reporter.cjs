'use strict';
// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
// Pending (skipped) tests count as failed: a skipped test is a failure here.
// Suites registered per backend (test/support/backend.ts) carry "[backend: …]" in their title;
// the tests run against each backend are counted and printed before the closing line.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class PassFailReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const perBackend = new Map();
    const count = (test, outcome) => {
      const m = /\[backend: ([^\]]+)\]/.exec(test.fullTitle());
      if (!m) return;
      const c = perBackend.get(m[1]) ?? { passed: 0, failed: 0 };
      c[outcome] += 1;
      perBackend.set(m[1], c);
    };
    runner.on(EVENT_TEST_PASS, (test) => count(test, 'passed'));
    runner.on(EVENT_TEST_FAIL, (test) => count(test, 'failed'));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write('\n');
      for (const [name, c] of perBackend) {
        process.stdout.write(`tests run against the ${name}: ${c.passed + c.failed} (${c.passed} passed, ${c.failed} failed)\n`);
      }
      process.stdout.write(`\n${passes} passed, ${failures + pending} failed\n`);
    });
  }
}
module.exports = PassFailReporter;
