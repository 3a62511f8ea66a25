import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marbles } from 'rxjs-marbles';
import { describe, expect, it } from 'vitest';
import { MARBLES_DIR, marbleFiles, renderSvg, textMarble } from '../scripts/marbles.js';
import { eventsOf, pictureOf } from '../scripts/marble-timeline.js';
import * as diagrams from './diagrams.js';
import { DIAGRAMS, HOLDS_BEHIND_A_FAILED_JOB, PER_KEY_SERIAL_GLOBAL_BOUND, type MarbleDiagram } from './diagrams.js';
import { playDiagram } from './support/diagram-player.js';

// The pictures in docs/marbles/ and the text marbles in the guides are drawn
// from test/diagrams.ts. These tests keep all three in step with behaviour:
// each diagram plays as drawn, a marble spec names the behaviour it shows,
// and what is committed is what the generator makes of it today.

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(THIS_FILE), '..');
const TEST_DIR = join(ROOT, 'test');
const GUIDES = ['docs/operators.md', 'docs/delivery.md'];

/** Each diagram with the name it is exported under. */
const EXPORTED: [string, MarbleDiagram][] = Object.entries(diagrams).filter((entry): entry is [string, MarbleDiagram] =>
  DIAGRAMS.includes(entry[1] as MarbleDiagram),
);

// Recursive, so specs organised in folders (test/operators/…) are found too.
const specSources = readdirSync(TEST_DIR, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.spec.ts') && basename(name) !== basename(THIS_FILE))
  .map((name) => ({ name, text: readFileSync(join(TEST_DIR, name), 'utf8') }));

describe('marble diagrams', () => {
  it('every exported diagram is listed in DIAGRAMS once, under a file name matching its export', () => {
    expect(EXPORTED.map(([, diagram]) => diagram)).toEqual(DIAGRAMS);
    for (const [exportName, diagram] of EXPORTED) expect(diagram.name).toBe(exportName.toLowerCase().replace(/_/g, '-'));
  });

  describe.each(EXPORTED.map(([exportName, diagram]) => ({ exportName, diagram })))('$exportName', ({ exportName, diagram }) => {
    it('plays as drawn', marbles((m) => playDiagram(m, diagram)));

    it('is played by a marble spec, in the test that names the behaviour', () => {
      const call = new RegExp(`play\\w*\\(m, ${exportName}\\)`);
      expect(specSources.filter((spec) => call.test(spec.text)).map((spec) => spec.name)).not.toEqual([]);
    });

    it('is shown in a guide as text, with its picture', () => {
      const guides = GUIDES.filter((path) => readFileSync(join(ROOT, path), 'utf8').includes(textMarble(diagram)));
      expect(guides, `no guide shows the text marble of ${diagram.name}:\n${textMarble(diagram)}`).not.toEqual([]);
      if (diagram.picture !== false) {
        const text = readFileSync(join(ROOT, guides[0]!), 'utf8');
        expect(text).toContain(`(marbles/${diagram.name}.svg)`);
      }
    });
  });

  it('the committed pictures are up to date (npm run docs:marbles)', () => {
    const files = marbleFiles();
    for (const file of files) {
      let committed: string | undefined;
      try {
        committed = readFileSync(file.path, 'utf8');
      } catch {
        committed = undefined;
      }
      expect(committed === file.content, `${file.path} is out of date: run npm run docs:marbles`).toBe(true);
    }
    const stray = readdirSync(MARBLES_DIR).filter((name) => !files.some((file) => basename(file.path) === name));
    expect(stray, 'files in docs/marbles that no diagram makes').toEqual([]);
  });
});

describe('marble pictures', () => {
  const drawn = DIAGRAMS.filter((diagram) => diagram.picture !== false);

  /** The last frame any stream of a diagram mentions. */
  const lastFrame = (diagram: MarbleDiagram): number => {
    const marbles =
      diagram.kind === 'pipeline'
        ? [diagram.source, diagram.admitted, diagram.waiting ?? '', diagram.sent ?? '', diagram.settled]
        : diagram.kind === 'concatMapByKey'
          ? [diagram.source, diagram.output]
          : [diagram.source, diagram.results, diagram.overflowed ?? '', ...Object.values(diagram.deliveries)];
    return Math.max(...marbles.map((m) => Math.max(0, ...eventsOf(m).map((event) => event.frame))));
  };

  it.each(drawn.map((diagram) => [diagram.name, diagram] as const))('%s: every label is at least 14 px', (_, diagram) => {
    const sizes = [...renderSvg(diagram).matchAll(/font-size="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(14);
  });

  it.each(drawn.map((diagram) => [diagram.name, diagram] as const))('%s: a time ruler numbers every frame up to the last event', (_, diagram) => {
    const svg = renderSvg(diagram);
    for (let frame = 0; frame <= lastFrame(diagram); frame++) expect(svg).toContain(`>${frame}</text>`);
  });

  it.each(drawn.map((diagram) => [diagram.name, diagram] as const))(
    '%s: each lane covers its job from arrival to its end, its spans never overlapping',
    (_, diagram) => {
      const lanes = pictureOf(diagram).rows.filter((row) => row.kind === 'lane');
      expect(lanes.length).toBeGreaterThan(0);
      for (const lane of lanes) {
        const spans = lane.segments;
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.from, `${lane.title}: span ${i} starts where span ${i - 1} ends`).toBe(spans[i - 1]!.to);
        for (const span of spans) expect(span.to).toBeGreaterThan(span.from);
      }
    },
  );

  it('draws a held job while it waits: k#2 held from its arrival at 4 to its release at 10', () => {
    const lane = pictureOf(HOLDS_BEHIND_A_FAILED_JOB).rows.find((row) => row.kind === 'lane' && row.title === 'k#2');
    expect(lane).toMatchObject({ segments: [{ kind: 'held', from: 4, to: 10 }, { kind: 'attempt', from: 10, to: 12 }] });
    expect(renderSvg(HOLDS_BEHIND_A_FAILED_JOB)).toContain('>held</text>');
  });

  it('draws each inner of concatMapByKey on a lane of its own, from subscription to unsubscription', () => {
    const lanes = pictureOf(PER_KEY_SERIAL_GLOBAL_BOUND).rows.filter((row) => row.kind === 'lane');
    expect(lanes.map((lane) => lane.title)).toEqual(['a (key A)', 'x (key X)', 'b (key A)', 'p (key P)']);
    expect(lanes.map((lane) => lane.segments.find((segment) => segment.kind === 'attempt'))).toEqual([
      { kind: 'attempt', from: 1, to: 5 },
      { kind: 'attempt', from: 2, to: 11 },
      { kind: 'attempt', from: 5, to: 7 },
      { kind: 'attempt', from: 7, to: 9 },
    ]);
  });
});
