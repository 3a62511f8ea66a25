import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marbles } from 'rxjs-marbles';
import { describe, expect, it } from 'vitest';
import { MARBLES_DIR, marbleFiles, textMarble } from '../scripts/marbles.js';
import * as diagrams from './diagrams.js';
import { DIAGRAMS, type MarbleDiagram } from './diagrams.js';
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

const specSources = (readdirSync(TEST_DIR, { recursive: true }) as string[])
  .filter((name) => name.endsWith('.spec.ts') && name !== basename(THIS_FILE))
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

  it('the committed pictures and their swirly sources are up to date (npm run docs:marbles)', () => {
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
