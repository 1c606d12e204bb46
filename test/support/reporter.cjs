'use strict';
// Mocha's spec reporter plus the closing line CI reads: "N passed, N failed".
// Pending (skipped) tests count as failed: a skipped test is a failure here.
// Suites registered per backend (test/support/backend.ts) carry "[backend: …]" in their title;
// the tests run against each backend are counted and printed before the closing line.
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants;

/**
 * Processes this run started that are still alive (a suite that forgot to stop what it started).
 * Walks every descendant: with `--parallel` the suites run in mocha's worker processes, so what a
 * suite left behind is a grandchild. Mocha's own workers and tsx's esbuild service are not listed.
 */
function childrenStillRunning() {
  const fs = require('node:fs');
  const children = new Map();
  let pids = [];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return []; }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(pid), cmd });
    } catch { /* gone meanwhile */ }
  }
  const ours = (cmd) => /mocha[/\\]lib[/\\]nodejs[/\\]worker\.c?js/.test(cmd) || /esbuild --service/.test(cmd);
  const left = [];
  const walk = (ppid) => {
    for (const { pid, cmd } of children.get(ppid) ?? []) {
      if (!ours(cmd)) left.push(`pid ${pid}: ${cmd.slice(0, 160)}`);
      walk(pid);
    }
  };
  walk(process.pid);
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
