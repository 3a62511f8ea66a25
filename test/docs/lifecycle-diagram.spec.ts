import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIFECYCLE_DOT, LIFECYCLE_SVG, renderLifecycle } from '../../scripts/lifecycle.js';
import { TICKET_STATE_NAMES } from '../../src/store/ticket.js';

describe('the lifecycle diagram in docs/design.md', () => {
  it('draws every ticket state the ledger counts, and no other', () => {
    const dot = readFileSync(LIFECYCLE_DOT, 'utf8');
    const nodes = [...dot.matchAll(/^\s*(\w+) \[label=/gm)].map((match) => match[1]);
    expect(nodes.sort()).toEqual([...TICKET_STATE_NAMES].sort());
  });

  it('the committed SVG is what its DOT source renders to today (npm run docs:lifecycle)', async () => {
    const committed = readFileSync(LIFECYCLE_SVG, 'utf8');
    expect(committed === (await renderLifecycle()), `${LIFECYCLE_SVG} is out of date: run npm run docs:lifecycle`).toBe(true);
  });
});
