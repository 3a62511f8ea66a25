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
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: [check.file] }),
    );
    writeFileSync(join(dir, check.file), check.code);
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', '--prefer-offline', tarball, `rxjs@${rxjsVersion}`], dir);
    run('node', [tsc, '-p', '.'], dir);
    // Run the compiled-away file as plain JS: strip the type-only lines.
    const js = check.code.replace(/^import type .*$/m, '').replace(/: (EnterResult|JobStatus<number> \| undefined|DeliveryResult<number> \| undefined)/g, '');
    const runnable = check.type === 'module'
      ? js
      : js.replace(/^import \{([^}]*)\} from '([^']+)';$/gm, (_, names, from) => `const {${names}} = require('${from}');`);
    const out = join(dir, check.type === 'module' ? 'main.mjs' : 'main.cjs');
    writeFileSync(out, runnable);
    process.stdout.write(run('node', [out], dir));
  }
  console.log('smoke test passed: the packed tarball imports and type-checks from ESM and CommonJS');
} finally {
  rmSync(work, { recursive: true, force: true });
}
