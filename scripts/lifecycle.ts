// Renders docs/lifecycle.dot (the job lifecycle, a Graphviz DOT source) to
// docs/lifecycle.svg with @viz-js/viz, Graphviz compiled to WebAssembly: no
// system graphviz needed, and the same output on every machine.
//
//   npm run docs:lifecycle             write docs/lifecycle.svg
//   npm run docs:lifecycle -- --check  exit 1 if the committed SVG is out of date
//
// test/docs/lifecycle-diagram.spec.ts makes the same check.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { instance } from '@viz-js/viz';

const DOCS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
/** The DOT source. */
export const LIFECYCLE_DOT = resolve(DOCS, 'lifecycle.dot');
/** The picture docs/design.md shows. */
export const LIFECYCLE_SVG = resolve(DOCS, 'lifecycle.svg');

/** The SVG the committed DOT source renders to today. */
export async function renderLifecycle(): Promise<string> {
  const viz = await instance();
  return viz.renderString(readFileSync(LIFECYCLE_DOT, 'utf8'), { format: 'svg', engine: 'dot' });
}

async function main(): Promise<void> {
  const svg = await renderLifecycle();
  if (process.argv.includes('--check')) {
    let committed: string | undefined;
    try {
      committed = readFileSync(LIFECYCLE_SVG, 'utf8');
    } catch {
      committed = undefined;
    }
    if (committed !== svg) {
      console.error(`${LIFECYCLE_SVG} is out of date: run npm run docs:lifecycle`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(LIFECYCLE_SVG, svg);
  console.log(`wrote ${LIFECYCLE_SVG}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
