/**
 * The benchmark entry: `npm run bench [-- options]`. It builds the package
 * first and measures the build (`dist/`, loaded by bench/lib.ts), as users
 * run it; the suites are type-checked against `src/`.
 *
 * Suites: barrier (the synchronous core, issue 6), operators (barrierEnter
 * vs filter, issue 3), delivery (orderedDelivery vs groupBy/concatMap and
 * mergeMap, retained memory, issue 4), soak (10M jobs through pull +
 * orderedDelivery, issue 4; about half a minute, so part of the full run;
 * alone: `npm run bench -- --only soak`), postgres (the durable queue beside
 * graphile-worker and pg-boss on an embedded PostgreSQL, issue 13; about
 * ten minutes: `npm run bench -- --only postgres`).
 *
 *   --only <name>  run one suite (repeatable; names below)
 *   --quick        fewer, shorter runs: checks the suite works, not a measurement
 *   --inline       run every measurement in this process instead of a fresh
 *                  child per measurement (for --cpu-prof and debugging; the
 *                  JIT feedback of one workload then affects the next)
 *   --no-write     do not overwrite bench/RESULTS.md
 *   --baseline <git-ref>
 *                  also build <git-ref> in a temporary git worktree and run
 *                  each suite on it right after the working tree's build,
 *                  then measure each timed workload on both builds side by
 *                  side (their processes taking turns) for a table of ns/job
 *                  beside the baseline's (≤ 1.10×)
 *   --instructions also count the instructions per job of each timed workload
 *                  under Valgrind (bench/instructions.ts), beside the
 *                  baseline's with --baseline: a comparison that, unlike
 *                  wall time on a shared machine, repeats within 0.1%
 *
 * Prints the machine and one table per suite, and writes the tables with the
 * command and the date to bench/RESULTS.md. Needs `node --expose-gc`.
 *
 * To add a suite, export a `Suite` from a `*.bench.ts` module (its `run`
 * returns the rows; its measurements are `tasks` run by `measure`) and list
 * it in SUITES.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { barrierSuite } from './barrier.bench.js';
import { deliverySuite } from './delivery.bench.js';
import { operatorsSuite } from './operators.bench.js';
import { postgresSuite } from './postgres.bench.js';
import { soakSuite } from './soak.bench.js';
import { BENCH_DIST_ENV, buildBaseline, compareRows, isFloor, measureBeside } from './baseline.js';
import { INSTRUCTION_JOBS, instructionRows, valgrindAvailable } from './instructions.js';
import { pinning } from './cpu.js';
import { MEASURED, STALE_BUILD } from './lib.js';
import { FULL, QUICK, markdownTable, textTable, type BenchOptions, type Row, type Suite } from './harness.js';

const SUITES: readonly Suite[] = [barrierSuite, operatorsSuite, deliverySuite, soakSuite, postgresSuite];

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    inline: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    instructions: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(`npm run bench [-- --only <${SUITES.map((s) => s.name).join('|')}>] [--quick] [--inline] [--no-write] [--baseline <git-ref>] [--instructions]`);
  process.exit(0);
}

if (globalThis.gc === undefined) {
  console.error('The benchmarks need node --expose-gc; run them with `npm run bench`.');
  process.exit(1);
}

const unknown = (values.only ?? []).filter((name) => !SUITES.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  process.exit(1);
}
const selected = values.only === undefined ? SUITES : SUITES.filter((s) => values.only!.includes(s.name));
const options: BenchOptions = { ...(values.quick ? QUICK : FULL), inline: values.inline };

const cpus = os.cpus();
const machine = [
  `CPU: ${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length} logical cores`,
  `Node ${process.version}, V8 ${process.versions.v8}`,
  `${os.platform()} ${os.release()} ${os.arch()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
];
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
machine.push(`load average at start: ${load} (other processes skew the figures: run on an idle machine)`);
if (!options.inline) machine.push(pinning().description);
const args = process.argv.slice(2);
const command =
  process.env['npm_lifecycle_event'] === 'bench'
    ? `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
    : `node ${process.execArgv.join(' ')} bench/index.ts ${args.join(' ')}`.trimEnd();
const setup = `${options.runs} timed runs (median) after ${options.warmup} warm-up runs, ${options.jobs.toLocaleString('en-US')} jobs per run, ${
  options.inline ? 'all in one process' : 'each measurement in a fresh process'
}`;

const measured = `Measured: ${MEASURED}${STALE_BUILD ? ' (STALE: src/ changed since the build; run `npm run bench`, which builds first)' : ''}`;

console.log(machine.join('\n'));
console.log(measured);
console.log(setup);
if (options.quick) console.log('--quick: a smoke run, the figures are rough');

if (values.baseline !== undefined && options.inline) {
  console.error('--baseline needs a fresh process per measurement: drop --inline');
  process.exit(1);
}
if (values.instructions && !valgrindAvailable()) {
  console.error('--instructions counts with Valgrind, which is not installed (Debian: apt-get install valgrind)');
  process.exit(1);
}
const baseline = values.baseline === undefined ? undefined : buildBaseline(values.baseline);
if (baseline !== undefined) console.log(`Baseline: ${values.baseline} (${baseline.commit}), built in ${baseline.dist}`);

const results: { suite: Suite; rows: Row[] }[] = [];
try {
  for (const suite of selected) {
    console.log(`\n## ${suite.title}\n`);
    const started = performance.now();
    const rows = await suite.run(options);
    console.log(textTable(rows));
    console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
    results.push({ suite, rows });
    if (values.instructions && suite.timed !== undefined) {
      const title = `${suite.title}: instructions per job${baseline === undefined ? '' : ` vs ${values.baseline} (${baseline.commit})`}`;
      console.log(`\n## ${title}\n`);
      const counted = await instructionRows(
        suite.timed.moduleUrl,
        suite.timed.workloads,
        options,
        baseline === undefined ? undefined : { dist: baseline.dist, ref: values.baseline! },
        isFloor,
      );
      console.log(textTable(counted));
      const notes = [
        `Counted by Valgrind (callgrind) under \`node --predictable\`, inside the timed runs only: each task in fresh processes with 2 and with 4 timed runs of ${INSTRUCTION_JOBS.toLocaleString('en-US')} jobs after 3 warm-ups, the difference divided by the 2 × ${INSTRUCTION_JOBS.toLocaleString('en-US')} jobs between them (bench/instructions.ts). Repeats within 0.1%; the floors, which run no library code, show the comparison's bias. It does not see cache misses or memory stalls.`,
      ];
      results.push({ suite: { ...suite, title, notes }, rows: counted });
    }
    if (baseline === undefined) continue;
    // The same suite on the baseline's build, right after: the children read the variable.
    process.env[BENCH_DIST_ENV] = baseline.dist;
    console.log(`\n## ${suite.title}: baseline ${values.baseline} (${baseline.commit})\n`);
    const baselineRows = await suite.run(options);
    delete process.env[BENCH_DIST_ENV];
    console.log(textTable(baselineRows));
    // The timed workloads once more, this build's and the baseline's processes taking turns.
    const beside = suite.timed === undefined ? undefined : await measureBeside(suite.timed, options, baseline.dist);
    const comparison = compareRows(rows, baselineRows, values.baseline!, beside);
    console.log(`\n## ${suite.title}: this build vs ${values.baseline}\n`);
    console.log(textTable(comparison));
    results.push({ suite: { ...suite, title: `${suite.title}: this build vs ${values.baseline} (${baseline.commit})`, notes: [] }, rows: comparison });
  }
} finally {
  baseline?.remove();
}

const failed = results.flatMap(({ rows }) => rows.filter((row) => row.pass === false));
console.log(failed.length === 0 ? '\nEvery target met.' : `\n${failed.length} target(s) missed: ${failed.map((r) => r.workload).join('; ')}`);

if (!values['no-write']) {
  const file = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  const markdown = [
    '# Benchmark results',
    '',
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    ...machine.map((line) => `- ${line}`),
    `- ${measured}`,
    `- ${setup}${options.quick ? ' (--quick: rough figures)' : ''}`,
    '',
    'ns/job is wall time per job: the median of the timed runs, with the fastest and slowest run beside it.',
    'Workload 2 counts its 1% retries in the time of the jobs they belong to. Bytes/key is heapUsed growth',
    'after `gc()`, key strings excluded. Benchmarks are not tests: CI does not run them; `npm test` type-checks them.',
    ...results.flatMap(({ suite, rows }) => [
      '',
      `## ${suite.title}`,
      '',
      markdownTable(rows),
      ...(suite.notes === undefined ? [] : ['', ...suite.notes.map((note) => `- ${note}`)]),
    ]),
    '',
  ].join('\n');
  await writeFile(file, markdown);
  console.log(`Wrote ${file}`);
}
