// BarrierStore stats(): what it counts.
import { describe, expect, it } from 'vitest';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore stats()', () => {
  it('counts held, retrying and admitted jobs, records, queued commands, keys, entrances and paused keys', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 10 });
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 0, total: 0, records: 0, queued: 0, keys: 0, entrances: 0, paused: 0, stalled: false });

    const entry = new Entry(store).push(job('k', 1), job('j', 1));
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 2, total: 2, records: 0, queued: 0, keys: 0, entrances: 1, paused: 0, stalled: false });

    report(store, job('k', 1), 'failed');
    entry.push(job('k', 2));
    store.pause('p');
    expect(store.stats()).toEqual({ held: 1, blocked: 1, retrying: 1, admitted: 1, total: 3, records: 1, queued: 0, keys: 2, entrances: 1, paused: 1, stalled: false });

    advanceTo(scheduler, 10);
    expect(store.stats()).toMatchObject({ held: 1, blocked: 1, retrying: 0, admitted: 2, total: 3 });

    report(store, job('k', 1), 'succeeded');
    expect(store.stats()).toMatchObject({ held: 1, admitted: 1, records: 1, queued: 1 });

    advanceTo(scheduler, 11);
    expect(store.stats()).toMatchObject({ held: 0, admitted: 2, records: 0, queued: 0 });

    report(store, job('k', 2), 'succeeded');
    report(store, job('j', 1), 'filtered');
    store.resume('p');
    entry.close();
    expect(store.stats()).toEqual({ held: 0, blocked: 0, retrying: 0, admitted: 0, total: 0, records: 0, queued: 0, keys: 0, entrances: 0, paused: 0, stalled: false });
  });
});
