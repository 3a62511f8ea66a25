// Which partitions a worker over its fair share gives back: those held
// longest, never one still waiting out a dead owner's lease (handed over, it
// would read as released and its next owner would start at once).
import { describe, expect, it } from 'vitest';
import { partitionsToGive, type Owned } from '../../src/postgres/ownership.js';

const owned = (startsAt: number, handingOver = false): Owned => ({ epoch: '1', handingOver, startsAt });

describe('rebalancing a worker over its fair share', () => {
  it('gives back the partitions held longest, not the highest-numbered', () => {
    // 0–3 held since t=100; 4–7 taken over at t=1,000 from a dead owner, started at t=4,000.
    const map = new Map<number, Owned>([0, 1, 2, 3].map((p) => [p, owned(100)]));
    for (const p of [4, 5, 6, 7]) map.set(p, owned(4_000));
    expect(partitionsToGive(map, 4, 5_000)).toEqual([0, 1, 2, 3]);
  });

  it('never gives back a partition still in its lease wait, even when that leaves the worker over its share', () => {
    const map = new Map<number, Owned>([
      [0, owned(100)],
      [6, owned(4_000)],
      [7, owned(4_000)],
    ]);
    expect(partitionsToGive(map, 3, 3_000)).toEqual([0]);
    // Once the wait is over they may go.
    expect(partitionsToGive(map, 3, 4_000)).toEqual([0, 6, 7]);
  });

  it('counts partitions already being handed over against the excess', () => {
    const map = new Map<number, Owned>([
      [0, owned(100, true)],
      [1, owned(200)],
      [2, owned(300)],
    ]);
    expect(partitionsToGive(map, 2, 1_000)).toEqual([1]);
    expect(partitionsToGive(map, 1, 1_000)).toEqual([]);
  });
});
