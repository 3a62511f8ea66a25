// Draws a marble picture (scripts/marble-timeline.ts) as a standalone SVG:
// a time ruler of numbered frames, the streams and operator boxes, and one
// lane per job showing where it is between its events. Plain SVG, no
// scripts or external fonts, so GitHub, npm and typedoc show it as an image.
import type { LaneMark, Picture, PictureRow, Segment, StreamEvent } from './marble-timeline.js';

/** Sizes in px. Labels are 14 px or more, so the pictures read at their natural size. */
const SIZE = {
  frame: 52,
  font: 14,
  titleFont: 15,
  pill: 28,
  stream: 50,
  operator: 54,
  heading: 30,
  lane: 36,
  bar: 22,
  ruler: 30,
  legend: 40,
  margin: 16,
} as const;

const FONT = 'DejaVu Sans, Verdana, Geneva, sans-serif';
const INK = '#212121';
const GRID = '#e0e0e0';
const FAILED_RING = '#c62828';
const HELD_FILL = '#ffe082';
const HELD_INK = '#8d6e00';

/** Approximate width of `text` at `size` px in a DejaVu-like sans serif: wide enough that boxes fit their labels. */
function textWidth(text: string, size: number): number {
  return [...text].length * size * 0.6;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n = (value: number): string => String(Math.round(value * 10) / 10);

function text(
  x: number,
  y: number,
  content: string,
  options: { size?: number; anchor?: 'start' | 'middle' | 'end'; fill?: string; weight?: string; space?: boolean } = {},
): string {
  const { size = SIZE.font, anchor = 'start', fill = INK, weight, space = false } = options;
  const bold = weight === undefined ? '' : ` font-weight="${weight}"`;
  // dy, not dominant-baseline: some renderers ignore the latter. xml:space
  // keeps runs of spaces, which separate the legend's entries.
  const keep = space ? ' xml:space="preserve"' : '';
  return `<text x="${n(x)}" y="${n(y)}" font-size="${size}" text-anchor="${anchor}" dy="0.36em" fill="${fill}"${bold}${keep}>${escape(content)}</text>`;
}

function rowHeight(row: PictureRow): number {
  switch (row.kind) {
    case 'stream':
      return SIZE.stream + (maxStack(row.events) - 1) * (SIZE.pill + 4);
    case 'operator':
      return SIZE.operator;
    case 'heading':
      return SIZE.heading;
    case 'lane':
      return SIZE.lane;
  }
}

/** The most events a stream has at one frame (a marble group): they are drawn one above the other. */
function maxStack(events: readonly StreamEvent[]): number {
  const perFrame = new Map<number, number>();
  for (const event of events) perFrame.set(event.frame, (perFrame.get(event.frame) ?? 0) + 1);
  return Math.max(1, ...perFrame.values());
}

function lastFrame(rows: readonly PictureRow[]): number {
  let last = 0;
  for (const row of rows) {
    if (row.kind === 'stream') last = Math.max(last, row.complete ?? 0, ...row.events.map((e) => e.frame));
    if (row.kind === 'lane') last = Math.max(last, ...row.segments.map((s) => s.to), ...row.marks.map((m) => m.frame));
  }
  return last;
}

/** Renders a picture as an SVG document. */
export function renderPicture({ title, rows, legend: meanings, glyphs }: Picture): string {
  const titleColumn = Math.max(110, ...rows.map((row) => (row.kind === 'stream' || row.kind === 'lane' ? textWidth(row.title, SIZE.titleFont) + 24 : 0)));
  const frames = lastFrame(rows) + 2;
  const x0 = SIZE.margin + titleColumn + SIZE.frame / 2;
  const x = (frame: number): number => x0 + frame * SIZE.frame;
  const operatorWidth = Math.max(0, ...rows.map((row) => (row.kind === 'operator' ? textWidth(row.title, SIZE.titleFont) + 40 : 0)));
  const width = Math.ceil(Math.max(x(frames), SIZE.margin * 2 + operatorWidth, 640) + SIZE.margin);
  const body: string[] = [];

  let y = SIZE.margin;
  body.push(ruler(x, frames, y));
  y += SIZE.ruler;
  const gridTop = y;
  const content: string[] = [];
  for (const row of rows) {
    const height = rowHeight(row);
    content.push(drawRow(row, x, y, height, width, frames));
    y += height;
  }
  const gridBottom = y;
  body.push(ruler(x, frames, y));
  y += SIZE.ruler;
  if (meanings.length > 0) {
    const drawn = legend(y, width, meanings, glyphs);
    body.push(drawn.svg);
    y += drawn.height;
  }
  const height = Math.ceil(y + SIZE.margin / 2);
  const grid: string[] = [];
  for (let frame = 0; frame <= frames; frame++) {
    grid.push(`<line x1="${n(x(frame))}" y1="${n(gridTop)}" x2="${n(x(frame))}" y2="${n(gridBottom)}" stroke="${GRID}" stroke-width="1"/>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}" font-family="${FONT}">`,
    `<title>${escape(title)}</title>`,
    '<defs>',
    `<pattern id="held" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="${HELD_FILL}"/><line x1="0" y1="0" x2="0" y2="8" stroke="#ffca28" stroke-width="4"/></pattern>`,
    `<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${INK}"/></marker>`,
    '</defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...grid,
    ...body,
    ...content,
    '</svg>',
    '',
  ].join('\n');
}

/** Frame numbers: the frames the captions and the text marbles count in (1 frame = 1 ms of virtual time). */
function ruler(x: (frame: number) => number, frames: number, y: number): string {
  const parts = [text(x(0) - SIZE.frame / 2 - 8, y + SIZE.ruler / 2, 'frame', { anchor: 'end', fill: '#616161' })];
  for (let frame = 0; frame <= frames; frame++) parts.push(text(x(frame), y + SIZE.ruler / 2, String(frame), { anchor: 'middle', fill: '#616161' }));
  return parts.join('\n');
}

function drawRow(row: PictureRow, x: (frame: number) => number, top: number, height: number, width: number, frames: number): string {
  switch (row.kind) {
    case 'operator':
      return [
        `<rect x="${SIZE.margin}" y="${n(top + 8)}" width="${width - 2 * SIZE.margin}" height="${height - 16}" fill="#fafafa" stroke="${INK}" stroke-width="1.5"/>`,
        text(width / 2, top + height / 2, row.title, { size: SIZE.titleFont, anchor: 'middle' }),
      ].join('\n');
    case 'heading':
      return text(SIZE.margin, top + height / 2 + 4, row.title, { size: SIZE.titleFont, fill: '#616161', weight: 'bold' });
    case 'stream':
      return drawStream(row, x, top, frames);
    case 'lane':
      return drawLane(row, x, top, height);
  }
}

function drawStream(row: Extract<PictureRow, { kind: 'stream' }>, x: (frame: number) => number, top: number, frames: number): string {
  const y = top + SIZE.stream / 2;
  const parts = [
    text(SIZE.margin, y, row.title, { size: SIZE.titleFont }),
    `<line x1="${n(x(0) - SIZE.frame / 2)}" y1="${n(y)}" x2="${n(x(frames))}" y2="${n(y)}" stroke="${INK}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
  ];
  const stacked = new Map<number, number>();
  let completeOffset = 0;
  for (const event of row.events) {
    const level = stacked.get(event.frame) ?? 0;
    stacked.set(event.frame, level + 1);
    const w = Math.max(SIZE.pill, textWidth(event.label, SIZE.font) + 14);
    if (event.frame === row.complete) completeOffset = Math.max(completeOffset, w / 2 + 6);
    const cy = y + level * (SIZE.pill + 4);
    const stroke = event.failed === true ? `stroke="${FAILED_RING}" stroke-width="3"` : `stroke="${INK}" stroke-width="1.5"`;
    parts.push(
      `<rect x="${n(x(event.frame) - w / 2)}" y="${n(cy - SIZE.pill / 2)}" width="${n(w)}" height="${SIZE.pill}" rx="${SIZE.pill / 2}" fill="${event.fill}" ${stroke}/>`,
      text(x(event.frame), cy, event.label, { anchor: 'middle' }),
    );
  }
  if (row.complete !== undefined) {
    const cx = x(row.complete) + completeOffset;
    parts.push(`<line x1="${n(cx)}" y1="${n(y - 15)}" x2="${n(cx)}" y2="${n(y + 15)}" stroke="${INK}" stroke-width="2.5"/>`);
  }
  return parts.join('\n');
}

function drawLane(row: Extract<PictureRow, { kind: 'lane' }>, x: (frame: number) => number, top: number, height: number): string {
  const y = top + height / 2;
  const parts = [text(SIZE.margin + 12, y, row.title, { size: SIZE.titleFont })];
  for (const segment of row.segments) parts.push(drawSegment(segment, row.fill, x, y));
  for (const mark of row.marks) parts.push(drawMark(mark, row.fill, x, y));
  return parts.join('\n');
}

function drawSegment(segment: Segment, fill: string, x: (frame: number) => number, y: number): string {
  const left = x(segment.from);
  const w = x(segment.to) - left;
  const barTop = y - SIZE.bar / 2;
  switch (segment.kind) {
    case 'held': {
      const label = w >= textWidth('held', SIZE.font) + 8 ? text(left + w / 2, y, 'held', { anchor: 'middle', fill: HELD_INK, weight: 'bold' }) : '';
      return `<rect x="${n(left)}" y="${n(barTop)}" width="${n(w)}" height="${SIZE.bar}" fill="url(#held)" stroke="${HELD_INK}" stroke-width="1.5"/>${label}`;
    }
    case 'retry': {
      const label = w >= textWidth('retry delay', SIZE.font) + 8 ? 'retry delay' : w >= textWidth('retry', SIZE.font) + 6 ? 'retry' : '';
      return `<rect x="${n(left)}" y="${n(barTop)}" width="${n(w)}" height="${SIZE.bar}" fill="#ffffff" stroke="#757575" stroke-width="1.5" stroke-dasharray="5 3"/>${label === '' ? '' : text(left + w / 2, y, label, { anchor: 'middle', fill: '#616161' })}`;
    }
    case 'queued':
      return `<line x1="${n(left)}" y1="${n(y)}" x2="${n(left + w)}" y2="${n(y)}" stroke="#9e9e9e" stroke-width="3" stroke-dasharray="2 4" stroke-linecap="round"/>`;
    case 'attempt': {
      const failed = segment.outcome?.failed === true;
      const stroke = failed ? `stroke="${FAILED_RING}" stroke-width="2.5"` : `stroke="${INK}" stroke-width="1.5"`;
      const glyph = segment.outcome?.glyph ?? '';
      const long = segment.attempt === undefined ? glyph : `attempt ${segment.attempt} ${glyph}`;
      const label = w >= textWidth(long, SIZE.font) + 10 ? long : glyph;
      return `<rect x="${n(left)}" y="${n(barTop)}" width="${n(w)}" height="${SIZE.bar}" rx="4" fill="${fill}" ${stroke}/>${label === '' ? '' : text(left + w / 2, y, label, { anchor: 'middle' })}`;
    }
  }
}

function drawMark(mark: LaneMark, fill: string, x: (frame: number) => number, y: number): string {
  const cx = x(mark.frame);
  switch (mark.kind) {
    case 'value':
      return `<circle cx="${n(cx)}" cy="${n(y)}" r="${SIZE.pill / 2}" fill="${fill}" stroke="${INK}" stroke-width="1.5"/>${text(cx, y, mark.label, { anchor: 'middle' })}`;
    case 'overflow': {
      const w = textWidth(mark.label, SIZE.font) + 14;
      return `<rect x="${n(cx - 6)}" y="${n(y - SIZE.bar / 2)}" width="${n(w)}" height="${SIZE.bar}" rx="4" fill="#ffebee" stroke="${FAILED_RING}" stroke-width="1.5"/>${text(cx + 1, y, mark.label, { fill: FAILED_RING })}`;
    }
  }
}

/** What the lanes' marks mean, wrapped to the picture's width. */
function legend(top: number, width: number, meanings: Picture['legend'], withGlyphs: boolean): { svg: string; height: number } {
  const swatches: Readonly<Record<Segment['kind'], string>> = {
    held: `<rect x="0" y="-9" width="36" height="18" fill="url(#held)" stroke="${HELD_INK}" stroke-width="1.5"/>`,
    retry: `<rect x="0" y="-9" width="36" height="18" fill="#ffffff" stroke="#757575" stroke-width="1.5" stroke-dasharray="5 3"/>`,
    queued: `<line x1="0" y1="0" x2="36" y2="0" stroke="#9e9e9e" stroke-width="3" stroke-dasharray="2 4" stroke-linecap="round"/>`,
    attempt: `<rect x="0" y="-9" width="36" height="18" rx="4" fill="#eeeeee" stroke="${INK}" stroke-width="1.5"/>`,
  };
  const items = meanings.map(({ kind, label }): [string, string] => [swatches[kind], label]);
  const glyphs = '✓ succeeded   ✗ failed   ⊘ aborted   ∅ filtered';
  const parts: string[] = [];
  let left = SIZE.margin;
  let line = 0;
  const place = (itemWidth: number): number => {
    if (left > SIZE.margin && left + itemWidth > width - SIZE.margin) {
      left = SIZE.margin;
      line++;
    }
    const at = left;
    left += itemWidth + 24;
    return at;
  };
  const lineY = (): number => top + SIZE.legend / 2 + line * SIZE.legend;
  for (const [swatch, label] of items) {
    const at = place(44 + textWidth(label, SIZE.font));
    parts.push(`<g transform="translate(${n(at)},${n(lineY())})">${swatch}</g>`, text(at + 44, lineY(), label, { fill: '#424242' }));
  }
  if (withGlyphs) {
    const at = place(textWidth(glyphs, SIZE.font));
    parts.push(text(at, lineY(), glyphs, { fill: '#424242', space: true }));
  }
  return { svg: parts.join('\n'), height: (line + 1) * SIZE.legend };
}
