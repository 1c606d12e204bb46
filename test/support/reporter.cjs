'use strict';
// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
// Pending (skipped) tests count as failed: a skipped test is a failure here.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class PassFailReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      process.stdout.write(`\n${passes} passed, ${failures + pending} failed\n`);
    });
  }
}
module.exports = PassFailReporter;
