// What a marble picture shows, worked out from a diagram of test/diagrams.ts:
// its streams and operator boxes, and one lane per job (or per inner, for
// concatMapByKey) that draws where the job is while the streams only show
// its arrivals and departures: held, waiting for a retry, queued behind its
// key, in flight. Everything here is derived from the marble strings the
// tests play, so the picture cannot say what the test does not.
import type { JobState } from '../src/index.js';
import type { ConcatMapByKeyDiagram, DeliveryDiagram, MarbleDiagram, PipelineDiagram } from '../test/diagrams.js';

/** One event on a stream: a job arriving, a status, a result, a store call. */
export interface StreamEvent {
  readonly frame: number;
  readonly label: string;
  readonly fill: string;
  /** A failed or aborted status: drawn with a red ring. */
  readonly failed?: boolean;
}

/**
 * Where a job is over a span of frames: `held` by the store (behind an
 * earlier job of its key, paused, handed back), `retry` (failed, waiting for
 * its retry delay), `queued` (admitted, waiting for its key's job before it
 * to finish), `attempt` (in flight; an inner running, for concatMapByKey).
 */
export interface Segment {
  readonly kind: 'held' | 'retry' | 'queued' | 'attempt';
  readonly from: number;
  readonly to: number;
  /** For an attempt: its outcome glyph, and whether it failed. */
  readonly outcome?: { readonly glyph: string; readonly failed: boolean };
  /** For an attempt: 1 for the first. */
  readonly attempt?: number;
}

/** A mark on a lane at one frame: an inner's emitted value, or a job handed to onOverflow. */
export interface LaneMark {
  readonly frame: number;
  readonly label: string;
  readonly kind: 'value' | 'overflow';
}

export type PictureRow =
  | { readonly kind: 'stream'; readonly title: string; readonly events: readonly StreamEvent[]; readonly complete?: number }
  | { readonly kind: 'operator'; readonly title: string }
  | { readonly kind: 'heading'; readonly title: string }
  | { readonly kind: 'lane'; readonly title: string; readonly fill: string; readonly segments: readonly Segment[]; readonly marks: readonly LaneMark[] };

/** Pastel fills, one per job (or per key for concatMapByKey), in order of appearance. */
const PALETTE = ['#a5d6a7', '#ffcc80', '#90caf9', '#f48fb1', '#fff59d', '#ce93d8', '#80cbc4', '#bcaaa4'];
const STORE_CALL_FILL = '#e0e0e0';

/** The glyph after a job's label for each state it can be reported in. */
export const STATE_GLYPHS: Readonly<Record<JobState, string>> = { succeeded: '✓', failed: '✗', aborted: '⊘', filtered: '∅', waiting: '⏸' };
/** The glyph of each outcome letter of a delivery script (`#`: the attempt threw). */
const SCRIPT_GLYPHS: Readonly<Record<string, { glyph: string; failed: boolean }>> = {
  s: { glyph: '✓', failed: false },
  f: { glyph: '✗', failed: true },
  '#': { glyph: '✗', failed: true },
  a: { glyph: '⊘', failed: true },
  x: { glyph: '∅', failed: false },
};

const isFailure = (state: JobState): boolean => state === 'failed' || state === 'aborted';

function colors(names: readonly string[]): Map<string, string> {
  return new Map(names.map((name, i) => [name, PALETTE[i % PALETTE.length]!]));
}

/** The events of a run-mode marble string with one-character values: its letters (and `|`) with their frames. */
export function eventsOf(marbles: string): { frame: number; letter: string }[] {
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

/** The frame of the first `char` in a run-mode marble string. */
function frameOf(marbles: string, char: string): number {
  const event = eventsOf(marbles).find((e) => e.letter === char);
  if (event === undefined) throw new Error(`no ${char} in ${marbles}`);
  return event.frame;
}

/** A stream row: each letter drawn with its label and fill, `|` as the completion. */
function stream(title: string, marbles: string, values: Readonly<Record<string, Omit<StreamEvent, 'frame'>>>): PictureRow {
  const events: StreamEvent[] = [];
  let complete: number | undefined;
  for (const { frame, letter } of eventsOf(marbles)) {
    if (letter === '|') {
      complete = frame;
      continue;
    }
    const value = values[letter];
    if (value === undefined) throw new Error(`no value for ${letter} in ${title}: ${marbles}`);
    events.push({ frame, ...value });
  }
  return complete === undefined ? { kind: 'stream', title, events } : { kind: 'stream', title, events, complete };
}

function pipelineRows(diagram: PipelineDiagram): PictureRow[] {
  const fills = colors(Object.keys(diagram.jobs));
  const labelOf = (letter: string): string => `${diagram.jobs[letter]!.key}#${diagram.jobs[letter]!.id}`;
  const jobValues = Object.fromEntries(Object.keys(diagram.jobs).map((letter) => [letter, { label: labelOf(letter), fill: fills.get(letter)! }]));
  const statusValues = Object.fromEntries(
    Object.entries(diagram.statuses).map(([letter, [job, state]]) => [
      letter,
      { label: `${labelOf(job)} ${STATE_GLYPHS[state]}`, fill: fills.get(job)!, failed: isFailure(state) },
    ]),
  );
  const rows: PictureRow[] = [];
  const calls: StreamEvent[] = [];
  if ((diagram.paused ?? []).length > 0) calls.push({ frame: 0, label: `pause ${diagram.paused!.join(', ')}`, fill: STORE_CALL_FILL });
  for (const call of diagram.calls ?? []) {
    calls.push({ frame: call.at, label: call.call === 'sync' ? 'sync()' : `resume ${call.key}`, fill: STORE_CALL_FILL });
  }
  if (calls.length > 0) rows.push({ kind: 'stream', title: 'store', events: calls });
  rows.push(stream('source', diagram.source, jobValues));
  rows.push({ kind: 'operator', title: 'barrierEnter(store)' });
  rows.push(stream('admitted', diagram.admitted, jobValues));
  if (diagram.sent !== undefined || diagram.waiting !== undefined) {
    rows.push({ kind: 'operator', title: 'concatMapByKey(… barrierWait(store) …)' });
    if (diagram.waiting !== undefined) rows.push(stream('waiting', diagram.waiting, jobValues));
    if (diagram.sent !== undefined) rows.push(stream('sent', diagram.sent, jobValues));
    rows.push({ kind: 'operator', title: 'attempt (2 frames) → barrierState(store)' });
  } else {
    rows.push({ kind: 'operator', title: 'concatMapByKey(barrierWait → attempt (2 frames) → barrierState)' });
  }
  rows.push(stream('settled', diagram.settled, statusValues));
  rows.push({ kind: 'heading', title: 'each job' });
  for (const letter of Object.keys(diagram.jobs)) {
    rows.push({ kind: 'lane', title: labelOf(letter), fill: fills.get(letter)!, segments: pipelineSegments(diagram, letter), marks: [] });
  }
  return rows;
}

/** Where a job of a pipeline diagram is, from its arrival to its terminal status. */
function pipelineSegments(diagram: PipelineDiagram, letter: string): Segment[] {
  const framesOf = (marbles: string | undefined, wanted: (l: string) => boolean): number[] =>
    marbles === undefined ? [] : eventsOf(marbles).filter((e) => wanted(e.letter)).map((e) => e.frame);
  const arrival = framesOf(diagram.source, (l) => l === letter)[0]!;
  const admissions = framesOf(diagram.admitted, (l) => l === letter);
  const handedBack = framesOf(diagram.waiting, (l) => l === letter);
  const statuses = eventsOf(diagram.settled)
    .filter((e) => diagram.statuses[e.letter]?.[0] === letter)
    .map((e) => ({ frame: e.frame, state: diagram.statuses[e.letter]![1] }));
  const segments: Segment[] = [];
  let free = arrival; // where the job was last seen outside the pipeline's stages
  let waitKind: Segment['kind'] = 'held';
  let attempt = 0;
  for (const admitted of admissions) {
    if (admitted > free) segments.push({ kind: waitKind, from: free, to: admitted });
    const back = handedBack.find((frame) => frame >= admitted && !statuses.some((s) => s.frame > admitted && s.frame <= frame));
    const status = statuses.find((s) => s.frame > admitted);
    if (back !== undefined && (status === undefined || back < status.frame)) {
      if (back > admitted) segments.push({ kind: 'queued', from: admitted, to: back });
      handedBack.splice(handedBack.indexOf(back), 1);
      free = back;
      waitKind = 'held';
      continue;
    }
    if (status === undefined) throw new Error(`${diagram.name}: job ${letter} admitted at ${admitted} has no status after it`);
    const start = status.frame - 2; // each attempt takes 2 frames
    if (start > admitted) segments.push({ kind: 'queued', from: admitted, to: start });
    attempt++;
    segments.push({
      kind: 'attempt',
      from: Math.max(start, admitted),
      to: status.frame,
      attempt,
      outcome: { glyph: STATE_GLYPHS[status.state], failed: isFailure(status.state) },
    });
    statuses.splice(statuses.indexOf(status), 1);
    free = status.frame;
    waitKind = status.state === 'failed' ? 'retry' : 'held';
  }
  return segments;
}

function concatMapByKeyRows(diagram: ConcatMapByKeyDiagram): PictureRow[] {
  const keys = [...new Set(Object.values(diagram.keys))];
  const fills = colors(keys);
  const fillOf = (value: string): string => fills.get(diagram.keys[value]!)!;
  const values = Object.fromEntries(Object.keys(diagram.keys).map((value) => [value, { label: value, fill: fillOf(value) }]));
  const rows: PictureRow[] = [
    stream('source', diagram.source, values),
    { kind: 'operator', title: `concatMapByKey(key, project, ${diagram.concurrency})` },
    stream('output', diagram.output, values),
    { kind: 'heading', title: 'each inner' },
  ];
  // One lane per value, in arrival order: no two inners share a line.
  for (const { frame: arrival, letter: value } of eventsOf(diagram.source).filter((e) => e.letter !== '|')) {
    const subscription = diagram.subscriptions[value]!;
    const inner = diagram.inners[value]!;
    const start = frameOf(subscription, '^');
    const end = frameOf(subscription, '!');
    const segments: Segment[] = [];
    if (start > arrival) segments.push({ kind: 'queued', from: arrival, to: start });
    segments.push({ kind: 'attempt', from: start, to: end });
    const marks: LaneMark[] = [{ frame: start + frameOf(inner, 'v'), label: value, kind: 'value' }];
    rows.push({ kind: 'lane', title: `${value} (key ${diagram.keys[value]})`, fill: fillOf(value), segments, marks });
  }
  return rows;
}

function deliveryRows(diagram: DeliveryDiagram): PictureRow[] {
  const fills = colors(Object.keys(diagram.jobs));
  const labelOf = (letter: string): string => diagram.jobs[letter]!.join('#');
  const jobValues = Object.fromEntries(Object.keys(diagram.jobs).map((letter) => [letter, { label: labelOf(letter), fill: fills.get(letter)! }]));
  const resultValues = Object.fromEntries(
    Object.entries(diagram.resultValues).map(([letter, [job, state]]) => [
      letter,
      { label: `${labelOf(job)} ${STATE_GLYPHS[state]}`, fill: fills.get(job)!, failed: isFailure(state) },
    ]),
  );
  const settings = (options: object): string => Object.entries(options).map(([name, value]) => `${name}: ${value}`).join(', ');
  const storeSettings = diagram.store === undefined ? '' : ` · store ${settings(diagram.store)}`;
  const rows: PictureRow[] = [
    stream('source', diagram.source, jobValues),
    { kind: 'operator', title: `orderedDelivery(store, { ${settings(diagram.options)} })${storeSettings}` },
  ];
  if (diagram.overflowed !== undefined) rows.push(stream('onOverflow', diagram.overflowed, jobValues));
  rows.push(stream('results', diagram.results, resultValues));
  rows.push({ kind: 'heading', title: 'each job' });
  const overflowAt = new Map(eventsOf(diagram.overflowed ?? '').map((e) => [e.letter, e.frame]));
  for (const { frame: arrival, letter } of eventsOf(diagram.source).filter((e) => e.letter !== '|')) {
    const [key] = diagram.jobs[letter]!;
    const calls = eventsOf(diagram.deliveries[key] ?? '').filter((e) => e.letter === letter).map((e) => e.frame);
    const scripts = diagram.scripts[diagram.jobs[letter]!.join('')] ?? [];
    const segments: Segment[] = [];
    const marks: LaneMark[] = [];
    let free = arrival;
    let waitKind: Segment['kind'] = 'held';
    calls.forEach((call, i) => {
      if (call > free) segments.push({ kind: waitKind, from: free, to: call });
      const outcome = eventsOf(scripts[i]!).find((e) => e.letter !== '|')!;
      const end = call + outcome.frame;
      const drawn = SCRIPT_GLYPHS[outcome.letter]!;
      segments.push({ kind: 'attempt', from: call, to: end, attempt: i + 1, outcome: drawn });
      free = end;
      waitKind = drawn.failed ? 'retry' : 'held';
    });
    const overflowed = overflowAt.get(letter);
    if (overflowed !== undefined) {
      if (overflowed > arrival) segments.push({ kind: 'held', from: arrival, to: overflowed });
      marks.push({ frame: overflowed, label: '→ onOverflow', kind: 'overflow' });
    }
    rows.push({ kind: 'lane', title: labelOf(letter), fill: fills.get(letter)!, segments, marks });
  }
  return rows;
}

/** A diagram's picture: its rows top to bottom, and what its lanes' marks mean. */
export interface Picture {
  readonly title: string;
  readonly rows: readonly PictureRow[];
  /** One entry per kind of segment the lanes use, in the diagram's own words. */
  readonly legend: readonly { readonly kind: Segment['kind']; readonly label: string }[];
  /** Whether the outcome glyphs (✓ ✗ ⊘ ∅) need explaining. */
  readonly glyphs: boolean;
}

/** What each kind of segment means, per kind of diagram. */
const LEGENDS: Readonly<Record<MarbleDiagram['kind'], Readonly<Partial<Record<Segment['kind'], string>>>>> = {
  pipeline: { held: 'held by the store', retry: 'waiting for its retry', queued: 'admitted, queued behind its key', attempt: 'attempt in flight' },
  orderedDelivery: { held: 'held: not yet delivered', retry: 'waiting for its retry', attempt: 'deliver in flight' },
  concatMapByKey: { queued: 'waiting for its key or a free slot', attempt: 'inner subscribed' },
};

/** The picture of a diagram. */
export function pictureOf(diagram: MarbleDiagram): Picture {
  const rows = diagram.kind === 'pipeline' ? pipelineRows(diagram) : diagram.kind === 'concatMapByKey' ? concatMapByKeyRows(diagram) : deliveryRows(diagram);
  const used = new Set(rows.flatMap((row) => (row.kind === 'lane' ? row.segments.map((segment) => segment.kind) : [])));
  const legend = (['held', 'retry', 'queued', 'attempt'] as const)
    .filter((kind) => used.has(kind))
    .map((kind) => {
      const label = LEGENDS[diagram.kind][kind];
      if (label === undefined) throw new Error(`${diagram.name}: no legend for ${kind} in a ${diagram.kind} diagram`);
      return { kind, label };
    });
  return { title: diagram.title, rows, legend, glyphs: diagram.kind !== 'concatMapByKey' };
}
