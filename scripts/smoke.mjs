// Packs the library as npm would publish it, installs the tarball into fresh
// ESM and CommonJS projects, and checks that both entries import, run and
// type-check there. Exits non-zero on the first failure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'rx-barrier-smoke-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const rxjsVersion = JSON.parse(run('node', ['-p', 'JSON.stringify(require("rxjs/package.json").version)'], root));
const versionOf = (name) => JSON.parse(run('node', ['-p', `JSON.stringify(require("${name}/package.json").version)`], root));
const pgVersion = versionOf('pg');
const pgTypesVersion = versionOf('@types/pg');

// 'rx-barrier/postgres', checked once pg is installed: it imports, builds a
// queue without connecting, hashes keys as documented, and type-checks.
const postgresCheck = `import { PgJobQueue, partitionOf, fnv1a32, type PgJob, type PgWorker, type PgWorkOptions } from 'rx-barrier/postgres';
const queue = new PgJobQueue<{ n: number }>({ connectionString: 'postgres://nobody@127.0.0.1:1/none', partitions: 16 });
const options: PgWorkOptions<{ n: number }> = { deliver: (job: PgJob<{ n: number }>, { attempt }) => (attempt > 0 && job.payload.n >= 0 ? 'succeeded' : 'failed') };
const worker: PgWorker<{ n: number }> | undefined = undefined;
if (fnv1a32('user-1') !== 4115888500 || partitionOf('user-1', 64) !== 52 || typeof queue.work !== 'function' || typeof options.deliver !== 'function' || worker !== undefined) {
  throw new Error('postgres entry misbehaves');
}
let badInput = false;
try { new PgJobQueue({ connectionString: 'postgres://x', table: 'bad name' }); } catch (error) { badInput = error instanceof RangeError; }
if (!badInput) throw new Error('postgres entry takes a bad table name');
void queue.close().then(() => console.log('postgres ok'));
`;

// Type-checked only: values of one entry's types passed to the other's
// functions, which breaks when the two entries resolve to different
// declaration files (one BarrierStore class per file).
const interop = `import { BarrierStore, pull, type DeliveryResult } from 'rx-barrier';
import { barrierEnter, barrierState, barrierWait, concatMapByKey, orderedDelivery } from 'rx-barrier/operators';
import { of, type Observable } from 'rxjs';
interface Job { key: string; id: number }
const store = new BarrierStore<Job>({ key: (job) => job.key, jobId: (job) => job.id });
const jobs: Observable<Job> = pull(async () => null, store);
const entered: Observable<Job> = jobs.pipe(barrierEnter(store), barrierWait(store));
const results: Observable<DeliveryResult<Job>> = entered.pipe(orderedDelivery(store, { deliver: async () => 'succeeded' as const }));
const states = of({ job: { key: 'k', id: 1 }, state: 'succeeded' as const }).pipe(barrierState(store));
const byKey: Observable<number> = of(1).pipe(concatMapByKey(String, (n) => of(n)));
export { results, states, byKey };
`;

/** Module settings each project is type-checked under, as its users may set them. */
const settings = {
  esm: [
    { module: 'nodenext', moduleResolution: 'nodenext' },
    { module: 'esnext', moduleResolution: 'bundler' },
  ],
  cjs: [
    { module: 'nodenext', moduleResolution: 'nodenext' },
    // TypeScript's default for module commonjs: no exports map, so the
    // operators entry resolves through operators/package.json.
    { module: 'commonjs', moduleResolution: 'node10' },
  ],
};

const checks = {
  esm: {
    type: 'module',
    file: 'main.mts',
    code: `import { Barrier, BarrierStore, pull, UnsupportedStateError } from 'rx-barrier';
import { barrierEnter, barrierWait, barrierState, concatMapByKey, orderedDelivery } from 'rx-barrier/operators';
import type { EnterResult, JobStatus, DeliveryResult } from 'rx-barrier';
const barrier = new Barrier({ concurrencyLimit: 1 });
const result: EnterResult = barrier.enter('k', 1);
barrier.stateChanged('k', 1, 'failed');
const status: JobStatus<number> | undefined = undefined;
const delivered: DeliveryResult<number> | undefined = undefined;
const operators = [barrierEnter, barrierWait, barrierState, concatMapByKey, orderedDelivery, pull, BarrierStore];
if (!result.accepted || barrier.enter('k', 2).accepted || operators.some((f) => typeof f !== 'function')) throw new Error('ESM entry misbehaves');
if (!(new UnsupportedStateError('x') instanceof Error) || status !== undefined || delivered !== undefined) throw new Error('ESM errors misbehave');
console.log('esm ok');
`,
  },
  cjs: {
    type: 'commonjs',
    file: 'main.cts',
    code: `import { Barrier, BarrierStore, pull } from 'rx-barrier';
import { barrierEnter, barrierWait, barrierState, concatMapByKey, orderedDelivery } from 'rx-barrier/operators';
const barrier = new Barrier({ concurrencyLimit: 1 });
barrier.enter('k', 1);
barrier.stateChanged('k', 1, 'failed');
const operators = [barrierEnter, barrierWait, barrierState, concatMapByKey, orderedDelivery, pull, BarrierStore];
if (barrier.enter('k', 2).accepted || operators.some((f) => typeof f !== 'function')) throw new Error('CJS entry misbehaves');
console.log('cjs ok');
`,
  },
};

try {
  // The build ran just before (npm test); --ignore-scripts packs it as is.
  const tarball = join(work, run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], root).trim().split('\n').pop());
  process.stdout.write(run('node', [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--format', 'ascii'], root));
  for (const [name, check] of Object.entries(checks)) {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `smoke-${name}`, private: true, type: check.type }));
    const interopFile = check.type === 'module' ? 'interop.mts' : 'interop.cts';
    writeFileSync(join(dir, check.file), check.code);
    writeFileSync(join(dir, interopFile), interop);
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', '--prefer-offline', tarball, `rxjs@${rxjsVersion}`], dir);
    for (const setting of settings[name]) {
      const config = `tsconfig.${setting.moduleResolution}.json`;
      const compilerOptions = { ...setting, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [] };
      writeFileSync(join(dir, config), JSON.stringify({ compilerOptions, files: [check.file, interopFile] }));
      run('node', [tsc, '-p', config], dir);
    }
    // Run the compiled-away file as plain JS: strip the type-only lines.
    const js = check.code.replace(/^import type .*$/m, '').replace(/: (EnterResult|JobStatus<number> \| undefined|DeliveryResult<number> \| undefined)/g, '');
    const runnable = check.type === 'module'
      ? js
      : js.replace(/^import \{([^}]*)\} from '([^']+)';$/gm, (_, names, from) => `const {${names}} = require('${from}');`);
    const out = join(dir, check.type === 'module' ? 'main.mjs' : 'main.cjs');
    writeFileSync(out, runnable);
    process.stdout.write(run('node', [out], dir));

    // The two entries above ran without pg installed: neither loads it.
    const resolvesPg = run('node', ['-e', 'try { require.resolve("pg"); console.log("yes") } catch { console.log("no") }'], dir).trim();
    if (resolvesPg !== 'no') throw new Error(`pg is resolvable in the ${name} project before it was installed: the check that rx-barrier never loads it proves nothing`);
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', '--prefer-offline', `pg@${pgVersion}`, `@types/pg@${pgTypesVersion}`], dir);
    const postgresFile = check.type === 'module' ? 'postgres.mts' : 'postgres.cts';
    writeFileSync(join(dir, postgresFile), postgresCheck);
    for (const setting of settings[name]) {
      // node10 resolution reaches the entry through postgres/package.json.
      const compilerOptions = { ...setting, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [] };
      writeFileSync(join(dir, 'tsconfig.postgres.json'), JSON.stringify({ compilerOptions, files: [postgresFile] }));
      run('node', [tsc, '-p', 'tsconfig.postgres.json'], dir);
    }
    const postgresJs = postgresCheck
      .replace(/, type Pg\w+/g, '')
      .replace(/: PgWorkOptions<\{ n: number \}>|: PgWorker<\{ n: number \}> \| undefined|: PgJob<\{ n: number \}>|<\{ n: number \}>/g, '');
    const postgresRunnable = check.type === 'module'
      ? postgresJs
      : postgresJs.replace(/^import \{([^}]*)\} from '([^']+)';$/gm, (_, names, from) => `const {${names}} = require('${from}');`);
    const postgresOut = join(dir, check.type === 'module' ? 'postgres.mjs' : 'postgres.cjs');
    writeFileSync(postgresOut, postgresRunnable);
    process.stdout.write(run('node', [postgresOut], dir));
  }
  const checked = Object.entries(settings).map(([name, list]) => `${name}: ${list.map((s) => s.moduleResolution).join(', ')}`);
  console.log(`smoke test passed: the packed tarball imports and type-checks from ESM and CommonJS (${checked.join('; ')}), without pg for the two main entries and with it for rx-barrier/postgres`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
