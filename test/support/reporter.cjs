'use strict';
// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
// Pending (skipped) tests count as failed: a skipped test is a failure here.
// Suites registered per backend (test/support/backend.ts) carry "[backend: …]" in their title;
// the tests run against each backend are counted and printed before the closing line.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants;

/** Child processes of this run that are still alive (a suite that forgot to stop what it started). */
function childrenStillRunning() {
  const fs = require('node:fs');
  const left = [];
  let pids = [];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return left; }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      left.push(`pid ${pid}: ${cmd.slice(0, 160)}`);
    } catch { /* gone meanwhile */ }
  }
  return left;
}

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
      for (const left of childrenStillRunning()) process.stdout.write(`left running after the suites: ${left}\n`);
      for (const [name, c] of perBackend) {
        process.stdout.write(`tests run against the ${name}: ${c.passed + c.failed} (${c.passed} passed, ${c.failed} failed)\n`);
      }
      process.stdout.write(`\n${passes} passed, ${failures + pending} failed\n`);
    });
  }
}
module.exports = PassFailReporter;
