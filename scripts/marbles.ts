// Draws the canonical marble diagrams of test/diagrams.ts as SVG pictures in
// docs/marbles/, from the same marble strings the tests assert
// (marble-timeline.ts works out what to draw, marble-svg.ts draws it). Also
// makes the text marbles that docs/*.md show.
//
//   npm run docs:marbles             write docs/marbles/<name>.svg
//   npm run docs:marbles -- --check  exit 1 if a committed file is out of date
//
// test/docs-marbles.spec.ts makes the same check, so a stale picture fails
// the tests.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIAGRAMS, type MarbleDiagram } from '../test/diagrams.js';
import { renderPicture } from './marble-svg.js';
import { pictureOf } from './marble-timeline.js';

/** Where the pictures go. */
export const MARBLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'marbles');

/** The picture of a diagram, as an SVG document. */
export function renderSvg(diagram: MarbleDiagram): string {
  return renderPicture(pictureOf(diagram));
}

/** The diagram as the docs show it in text: each stream's marbles after its title, then the legend and the notes. */
export function textMarble(diagram: MarbleDiagram): string {
  const streams: [string, string][] = [];
  const legend: string[] = [...diagram.legend];
  switch (diagram.kind) {
    case 'pipeline':
      streams.push(['source', diagram.source], ['admitted', diagram.admitted]);
      if (diagram.waiting !== undefined) streams.push(['waiting', diagram.waiting]);
      if (diagram.sent !== undefined) streams.push(['sent', diagram.sent]);
      streams.push(['settled', diagram.settled]);
      legend.push(Object.entries(diagram.statuses).map(([letter, [job, state]]) => `${letter}: ${job} ${state}`).join(', '));
      break;
    case 'concatMapByKey':
      streams.push(['source', diagram.source], ['output', diagram.output]);
      for (const [value, subscription] of Object.entries(diagram.subscriptions)) streams.push([`${value} subscribed`, subscription]);
      legend.push(`inners, each emitting its value v, from their subscription: ${Object.entries(diagram.inners).map(([value, inner]) => `${value} ${inner}`).join(', ')}`);
      break;
    case 'orderedDelivery':
      streams.push(['source', diagram.source]);
      for (const [key, marbles] of Object.entries(diagram.deliveries)) streams.push([`deliver, key ${key}`, marbles]);
      if (diagram.overflowed !== undefined) streams.push(['onOverflow', diagram.overflowed]);
      streams.push(['results', diagram.results]);
      legend.push(
        Object.entries(diagram.scripts)
          .map(([name, attempts]) => `${name} attempts: ${attempts.join(' ')}`)
          .join(', '),
      );
      legend.push(
        Object.entries(diagram.resultValues)
          .map(([letter, [job, state, attempts]]) => `${letter}: ${job} ${state} after ${attempts} attempt${attempts === 1 ? '' : 's'}`)
          .join(', '),
      );
      break;
  }
  const width = Math.max(...streams.map(([title]) => title.length)) + 2;
  return [...streams.map(([title, marbles]) => title.padEnd(width) + marbles), '', ...legend, '', ...diagram.notes].join('\n');
}

/** Every file `npm run docs:marbles` writes, relative to the repository, with its content. */
export function marbleFiles(): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  for (const diagram of DIAGRAMS) {
    if (diagram.picture === false) continue;
    files.push({ path: join(MARBLES_DIR, `${diagram.name}.svg`), content: renderSvg(diagram) });
  }
  return files;
}

function main(args: readonly string[]): number {
  const check = args.includes('--check');
  const files = marbleFiles();
  const expected = new Set(files.map((file) => file.path));
  mkdirSync(MARBLES_DIR, { recursive: true });
  const stale: string[] = [];
  for (const file of files) {
    let current: string | undefined;
    try {
      current = readFileSync(file.path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === file.content) continue;
    stale.push(file.path);
    if (!check) writeFileSync(file.path, file.content);
  }
  // Pictures of diagrams that no longer exist.
  for (const name of readdirSync(MARBLES_DIR)) {
    const path = join(MARBLES_DIR, name);
    if (!/\.(svg|swirly)$/.test(name) || expected.has(path)) continue;
    stale.push(path);
    if (!check) rmSync(path);
  }
  const shown = stale.map((path) => relative(process.cwd(), path));
  if (check) {
    if (stale.length > 0) console.error(`out of date (run npm run docs:marbles):\n  ${shown.join('\n  ')}`);
    return stale.length > 0 ? 1 : 0;
  }
  console.log(stale.length > 0 ? `updated:\n  ${shown.join('\n  ')}` : `docs/marbles is up to date (${files.length} files)`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
