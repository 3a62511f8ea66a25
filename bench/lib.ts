/**
 * The library as users run it: the bundled build in `dist/` (what
 * `import … from 'rx-barrier'` loads), not `src/` through tsx. Going through
 * tsx costs about 20% on the hot paths (a transform per module, a module
 * boundary per file, a `__name` call per closure), which would be measured
 * as the library's own cost.
 *
 * The modules are loaded with a dynamic import whose URL is computed, so
 * TypeScript does not resolve `dist/` (which may not be built yet); they are
 * typed as the sources they are built from, so `tsc --noEmit -p .` checks
 * the suites against the current API without a build. `npm run bench` builds
 * first; run by hand, a missing or stale build is reported.
 */
import { statSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Runtime = typeof import('../src/index.js');
type Operators = typeof import('../src/operators/index.js');

// `--baseline` (bench/baseline.ts) points this at another build of the package.
const OTHER_DIST = process.env['RX_BARRIER_BENCH_DIST'];
const DIST = OTHER_DIST === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(`${OTHER_DIST}/`);
const INDEX = new URL('index.js', DIST);
const OPERATORS = new URL('operators/index.js', DIST);
const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** mtime of the newest file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = statSync(`${dir}/${name}`);
    if (stat.isFile()) latest = Math.max(latest, stat.mtimeMs);
  }
  return latest;
}

let builtAt: number;
try {
  builtAt = Math.min(statSync(INDEX).mtimeMs, statSync(OPERATORS).mtimeMs);
} catch {
  throw new Error('bench: dist/ is not built; run `npm run bench` (it builds first) or `npm run build`');
}
/** Set when a file under src/ is newer than the build: the figures would not be the sources'. */
export const STALE_BUILD = OTHER_DIST === undefined && newest(SRC) > builtAt;

const runtime = (await import(INDEX.href)) as Runtime;
const operators = (await import(OPERATORS.href)) as Operators;

/** Where the measured code was loaded from, for the header. */
export const MEASURED = 'dist/index.js + dist/operators/index.js (the built package, as users import it)';

export const { Barrier, BarrierStore, pull } = runtime;
export type Barrier = import('../src/index.js').Barrier;
export type BarrierStore<T> = import('../src/index.js').BarrierStore<T>;
export type { BarrierStoreOptions, DeliveryResult, PullBatch } from '../src/index.js';

export const { barrierEnter, barrierState, barrierWait, concatMapByKey, orderedDelivery } = operators;
export type { DeliveryContext, DeliveryOutcome } from '../src/operators/index.js';
