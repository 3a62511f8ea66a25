// Draws the canonical marble diagrams of test/diagrams.ts as SVG pictures in
// docs/marbles/, with swirly (https://swirly.dev), from the same marble
// strings the tests assert. Also makes the text marbles that docs/*.md show.
//
//   npm run docs:marbles             write docs/marbles/<name>.swirly and <name>.svg
//   npm run docs:marbles -- --check  exit 1 if a committed file is out of date
//
// test/docs-marbles.spec.ts makes the same check, so a stale picture fails
// the tests.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseMarbleDiagramSpecification } from '@swirly/parser';
import { renderMarbleDiagram } from '@swirly/renderer-node';
import { lightStyles } from '@swirly/theme-default-light';
import type { JobState } from '../src/index.js';
import { DIAGRAMS, type ConcatMapByKeyDiagram, type DeliveryDiagram, type MarbleDiagram, type PipelineDiagram } from '../test/diagrams.js';

/** Where the pictures go. */
export const MARBLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'marbles');

/** How an event is drawn: its fill, and a red ring for a failure. */
interface EventStyle {
  readonly fill: string;
  readonly failed?: boolean;
  /** For labels longer than a job's, such as `resume`. */
  readonly fontSize?: number;
}

/** A stream of the picture. `values` gives each letter's label and style. */
interface StreamRow {
  readonly kind: 'stream';
  readonly title: string;
  readonly marbles: string;
  readonly values: Readonly<Record<string, { readonly label: string; readonly style: EventStyle }>>;
  /** Letters standing for an inner stream drawn from its start (higher order), with that stream's marbles. */
  readonly inners?: Readonly<Record<string, InnerStream>>;
}

interface InnerStream {
  readonly marbles: string;
  readonly values: Readonly<Record<string, string>>;
  readonly style: EventStyle;
}

/** An operator box of the picture. */
interface OperatorRow {
  readonly kind: 'operator';
  readonly title: string;
}

type Row = StreamRow | OperatorRow;

/** Pastel fills, one per job (or per key for concatMapByKey), in order of appearance. */
const PALETTE = ['#a5d6a7', '#ffcc80', '#90caf9', '#f48fb1', '#fff59d', '#ce93d8', '#80cbc4', '#bcaaa4'];
const STORE_CALL_FILL = '#e0e0e0';
const FAILED_RING = '#c62828';

/** The glyph after a job's label for each state it can be reported in. */
const STATE_GLYPHS: Readonly<Record<JobState, string>> = { succeeded: '✓', failed: '✗', aborted: '⊘', filtered: '∅', waiting: '⏸' };

const isFailure = (state: JobState): boolean => state === 'failed' || state === 'aborted';

function colors(names: readonly string[]): Map<string, string> {
  return new Map(names.map((name, i) => [name, PALETTE[i % PALETTE.length]!]));
}

function pipelineRows(diagram: PipelineDiagram): Row[] {
  const fills = colors(Object.keys(diagram.jobs));
  const jobValues = Object.fromEntries(
    Object.entries(diagram.jobs).map(([letter, spec]) => [letter, { label: `${spec.key}#${spec.id}`, style: { fill: fills.get(letter)! } }]),
  );
  const statusValues = Object.fromEntries(
    Object.entries(diagram.statuses).map(([letter, [jobLetter, state]]) => {
      const spec = diagram.jobs[jobLetter]!;
      return [letter, { label: `${spec.key}#${spec.id} ${STATE_GLYPHS[state]}`, style: { fill: fills.get(jobLetter)!, failed: isFailure(state) } }];
    }),
  );
  const rows: Row[] = [];
  const storeCalls = storeCallRow(diagram);
  if (storeCalls !== undefined) rows.push(storeCalls);
  rows.push({ kind: 'stream', title: 'source', marbles: diagram.source, values: jobValues });
  rows.push({ kind: 'operator', title: 'barrierEnter(store)' });
  rows.push({ kind: 'stream', title: 'admitted', marbles: diagram.admitted, values: jobValues });
  if (diagram.sent !== undefined || diagram.waiting !== undefined) {
    rows.push({ kind: 'operator', title: 'concatMapByKey(… barrierWait(store) …)' });
    if (diagram.waiting !== undefined) rows.push({ kind: 'stream', title: 'waiting', marbles: diagram.waiting, values: jobValues });
    if (diagram.sent !== undefined) rows.push({ kind: 'stream', title: 'sent', marbles: diagram.sent, values: jobValues });
    rows.push({ kind: 'operator', title: 'attempt → barrierState(store)' });
  } else {
    rows.push({ kind: 'operator', title: 'concatMapByKey(barrierWait → attempt → barrierState)' });
  }
  rows.push({ kind: 'stream', title: 'settled', marbles: diagram.settled, values: statusValues });
  return rows;
}

/** The diagram's pause and calls on the store, as a stream of its own. */
function storeCallRow(diagram: PipelineDiagram): StreamRow | undefined {
  const events: { frame: number; letter: string }[] = [];
  const values: Record<string, { label: string; style: EventStyle }> = {};
  const style = { fill: STORE_CALL_FILL, fontSize: 9 };
  if ((diagram.paused ?? []).length > 0) {
    events.push({ frame: 0, letter: 'P' });
    values.P = { label: 'pause', style };
  }
  for (const call of diagram.calls ?? []) {
    const letter = call.call === 'sync' ? 'S' : 'R';
    events.push({ frame: call.at, letter });
    values[letter] = { label: call.call, style };
  }
  if (events.length === 0) return undefined;
  return { kind: 'stream', title: 'store', marbles: marblesOf(events), values };
}

function concatMapByKeyRows(diagram: ConcatMapByKeyDiagram): Row[] {
  const keys = [...new Set(Object.values(diagram.keys))];
  const fills = colors(keys);
  const fillOf = (value: string): string => fills.get(diagram.keys[value]!)!;
  const values = Object.fromEntries(Object.keys(diagram.keys).map((value) => [value, { label: value, style: { fill: fillOf(value) } }]));
  const rows: Row[] = [
    { kind: 'stream', title: 'source', marbles: diagram.source, values },
    { kind: 'operator', title: `concatMapByKey(key, project, ${diagram.concurrency})` },
  ];
  // One row per key: each inner drawn from the frame it was subscribed at.
  const names = innerNames(diagram.source, diagram.output);
  for (const key of keys) {
    const started = Object.entries(diagram.subscriptions)
      .filter(([value]) => diagram.keys[value] === key)
      .map(([value, subscription]) => ({ frame: frameOf(subscription, '^'), value }));
    const inners: Record<string, InnerStream> = {};
    const events = started.map(({ frame, value }) => {
      const letter = names.next();
      inners[letter] = { marbles: diagram.inners[value]!, values: { v: value }, style: { fill: fillOf(value) } };
      return { frame, letter };
    });
    rows.push({ kind: 'stream', title: `inners of ${key}`, marbles: marblesOf(events), values: {}, inners });
  }
  rows.push({ kind: 'stream', title: 'output', marbles: diagram.output, values });
  return rows;
}

const OUTCOME_GLYPHS: Readonly<Record<string, string>> = { s: '✓', f: '✗', a: '⊘', x: '∅' };

function deliveryRows(diagram: DeliveryDiagram): Row[] {
  const fills = colors(Object.keys(diagram.jobs));
  const nameOf = (letter: string): string => diagram.jobs[letter]!.join('');
  const jobValues = Object.fromEntries(
    Object.entries(diagram.jobs).map(([letter, [key, id]]) => [letter, { label: `${key}#${id}`, style: { fill: fills.get(letter)! } }]),
  );
  const resultValues = Object.fromEntries(
    Object.entries(diagram.resultValues).map(([letter, [jobLetter, state]]) => {
      const [key, id] = diagram.jobs[jobLetter]!;
      return [letter, { label: `${key}#${id} ${STATE_GLYPHS[state]}`, style: { fill: fills.get(jobLetter)!, failed: isFailure(state) } }];
    }),
  );
  const settings = (options: object): string => Object.entries(options).map(([name, value]) => `${name}: ${value}`).join(', ');
  const storeSettings = diagram.store === undefined ? '' : ` · store ${settings(diagram.store)}`;
  const rows: Row[] = [
    { kind: 'stream', title: 'source', marbles: diagram.source, values: jobValues },
    { kind: 'operator', title: `orderedDelivery(store, { ${settings(diagram.options)} })${storeSettings}` },
  ];
  // One row per key: each call of deliver drawn as the attempt's script, from the call on.
  const names = innerNames(diagram.source, diagram.results, ...Object.values(diagram.deliveries), diagram.overflowed ?? '');
  for (const [key, marbles] of Object.entries(diagram.deliveries)) {
    const attempts = new Map<string, number>();
    const inners: Record<string, InnerStream> = {};
    const events = eventsOf(marbles).map(({ frame, letter }) => {
      if (letter === '|') return { frame, letter };
      const attempt = (attempts.get(letter) ?? 0) + 1;
      attempts.set(letter, attempt);
      const script = diagram.scripts[nameOf(letter)]?.[attempt - 1];
      if (script === undefined) throw new Error(`${diagram.name}: no script for attempt ${attempt} of ${nameOf(letter)}`);
      const name = names.next();
      inners[name] = { marbles: script, values: OUTCOME_GLYPHS, style: { fill: fills.get(letter)! } };
      return { frame, letter: name };
    });
    rows.push({ kind: 'stream', title: `deliver, key ${key}`, marbles: marblesOf(events), values: {}, inners });
  }
  if (diagram.overflowed !== undefined) rows.push({ kind: 'stream', title: 'onOverflow', marbles: diagram.overflowed, values: jobValues });
  rows.push({ kind: 'stream', title: 'results', marbles: diagram.results, values: resultValues });
  return rows;
}

function rowsOf(diagram: MarbleDiagram): Row[] {
  switch (diagram.kind) {
    case 'pipeline':
      return pipelineRows(diagram);
    case 'concatMapByKey':
      return concatMapByKeyRows(diagram);
    case 'orderedDelivery':
      return deliveryRows(diagram);
  }
}

/** Single-character names for inner streams, none of them a letter the given marbles use. */
function innerNames(...marbles: string[]): { next(): string } {
  const used = new Set(marbles.join(''));
  const free = [...'123456789ghijklmnoqrtuwyzGHIJKLMNOQRTUVWYZ'].filter((name) => !used.has(name));
  return {
    next() {
      const name = free.shift();
      if (name === undefined) throw new Error('out of inner stream names');
      return name;
    },
  };
}

/** The frame of the first `char` in a run-mode marble string (spaces ignored, no groups). */
function frameOf(marbles: string, char: string): number {
  const frame = marbles.replace(/ /g, '').indexOf(char);
  if (frame < 0) throw new Error(`no ${char} in ${marbles}`);
  return frame;
}

/** The events of a run-mode marble string with one-character values: its letters (and `|`) with their frames. */
function eventsOf(marbles: string): { frame: number; letter: string }[] {
  const events: { frame: number; letter: string }[] = [];
  let frame = 0;
  let groupStart = -1;
  for (const char of marbles.replace(/ /g, '')) {
    if (char === '(') groupStart = frame;
    else if (char === ')') groupStart = -1;
    else if (char !== '-') events.push({ frame: groupStart >= 0 ? groupStart : frame, letter: char });
    frame++;
  }
  return events;
}

/** A marble string with these events, grouping events of one frame. */
function marblesOf(events: readonly { frame: number; letter: string }[]): string {
  const byFrame = new Map<number, string[]>();
  for (const { frame, letter } of events) byFrame.set(frame, [...(byFrame.get(frame) ?? []), letter]);
  let marbles = '';
  for (const frame of [...byFrame.keys()].sort((a, b) => a - b)) {
    if (marbles.length > frame) throw new Error(`events at frame ${frame} overlap a group before them: ${marbles}`);
    const letters = byFrame.get(frame)!;
    marbles += '-'.repeat(frame - marbles.length) + (letters.length === 1 ? letters[0]! : `(${letters.join('')})`);
  }
  return marbles;
}

/** The diagram in swirly's text format. Swirly reads marbles in non-run mode, where a space is a frame: so none. */
export function swirlyText(diagram: MarbleDiagram): string {
  const rows = rowsOf(diagram);
  const styles = new Map<string, EventStyle>();
  const setStyle = (name: string, style: EventStyle): void => {
    const known = styles.get(name);
    if (known !== undefined && (known.fill !== style.fill || (known.failed === true) !== (style.failed === true) || known.fontSize !== style.fontSize)) {
      throw new Error(`${diagram.name}: letter ${name} is drawn two ways; swirly styles events by letter`);
    }
    styles.set(name, style);
  };
  const blocks: string[] = [];
  for (const row of rows) {
    if (row.kind === 'operator') {
      blocks.push(`> ${row.title}`);
      continue;
    }
    if (/\d+(ms|s|m)\b/.test(row.marbles)) throw new Error(`${diagram.name}: swirly cannot draw the time progression in ${row.marbles}`);
    for (const [name, inner] of Object.entries(row.inners ?? {})) {
      blocks.push([`${name} = ${inner.marbles.replace(/ /g, '')}`, ...Object.entries(inner.values).map(([letter, label]) => `${letter} := ${label}`)].join('\n'));
    }
    const lines = [row.marbles.replace(/ /g, ''), `title = ${row.title}`];
    for (const [letter, { label, style }] of Object.entries(row.values)) {
      if (!row.marbles.includes(letter)) continue;
      lines.push(`${letter} := ${label}`);
      setStyle(letter, style);
    }
    blocks.push(lines.join('\n'));
  }
  const styleBlocks = [...styles].map(([name, style]) =>
    [
      `[styles.${name}]`,
      `fill_color = ${style.fill}`,
      ...(style.failed === true ? [`stroke_color = ${FAILED_RING}`, 'stroke_width = 3'] : []),
      ...(style.fontSize !== undefined ? [`value_font_size = ${style.fontSize}`] : []),
    ].join('\n'),
  );
  return [
    `% ${diagram.title}`,
    '% Generated by scripts/marbles.ts from test/diagrams.ts: edit those, then run npm run docs:marbles.',
    diagramStyles(rows),
    ...styleBlocks,
    ...blocks,
  ].join('\n\n') + '\n';
}

/** Styles of every diagram: room for labels such as `k#1 ✓`, upright labels on inner streams. */
const DIAGRAM_STYLES: Readonly<Record<string, number>> = {
  frame_width: 44,
  event_radius: 21,
  event_value_font_size: 11,
  higher_order_event_value_angle: -18,
  operator_title_font_size: 15,
  stream_title_font_size: 15,
  stream_title_width: 125,
};

/** The `[styles]` block: wide enough for the longest operator title. */
function diagramStyles(rows: readonly Row[]): string {
  const longestTitle = Math.max(0, ...rows.map((row) => (row.kind === 'operator' ? row.title.length : 0)));
  const styles = { ...DIAGRAM_STYLES, minimum_width: Math.ceil(longestTitle * 8.5 + 40) };
  return ['[styles]', ...Object.entries(styles).map(([name, value]) => `${name} = ${value}`)].join('\n');
}

/**
 * Renders swirly text to SVG. Swirly does not style the events of inner
 * streams, so they get the fill of the value or job they belong to here.
 */
export function renderSvg(diagram: MarbleDiagram): string {
  const spec = parseMarbleDiagramSpecification(swirlyText(diagram)) as SwirlyDiagram;
  styleInnerEvents(spec, rowsOf(diagram));
  const { xml } = renderMarbleDiagram(spec, { styles: lightStyles });
  return `${xml}\n`;
}

/** Gives every event of an inner stream its row's fill, in the order the inners appear. */
function styleInnerEvents(spec: SwirlyDiagram, rows: readonly Row[]): void {
  const streams = spec.content.filter((item) => item.kind === 'S');
  const streamRows = rows.filter((row): row is StreamRow => row.kind === 'stream');
  streams.forEach((stream, i) => {
    const row = streamRows[i];
    if (row?.inners === undefined) return;
    const innerStyles = Object.values(row.inners).map((inner) => inner.style);
    let next = 0;
    for (const message of stream.messages) {
      const value = message.notification.value;
      if (message.notification.kind !== 'N' || typeof value !== 'object' || value === null) continue;
      const style = innerStyles[next++];
      if (style === undefined) continue;
      for (const event of value.messages) {
        if (event.notification.kind === 'N') event.styles = { fill_color: style.fill, value_font_size: 16 };
      }
    }
  });
}

/** The parts of swirly's diagram specification we touch (its types package is not installed). */
interface SwirlyDiagram {
  content: { kind: string; messages: SwirlyMessage[] }[];
}
interface SwirlyMessage {
  notification: { kind: string; value?: { messages: SwirlyMessage[] } | string };
  styles?: Record<string, unknown>;
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
    files.push({ path: join(MARBLES_DIR, `${diagram.name}.swirly`), content: swirlyText(diagram) });
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
