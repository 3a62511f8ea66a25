// BarrierStore pause(key) and resume(key).
import { describe, expect, it } from 'vitest';
import { job, newStore } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, report } from '../support/store-harness.js';

describe('BarrierStore pause and resume', () => {
  it('holds every new job of a paused key, lets other keys through, and releases the held jobs in id order on resume', () => {
    const store = newStore({ scheduler: newScheduler() });
    store.pause('k');
    expect(store.paused('k')).toBe(true);
    expect(store.paused('j')).toBe(false);
    const entry = new Entry(store).push(job('k', 1), job('j', 1), job('k', 2));
    expect(entry.admitted).toEqual(['j#1']);
    expect(store.stats()).toMatchObject({ held: 2, paused: 1 });
    store.resume('k');
    expect(store.paused('k')).toBe(false);
    expect(entry.admitted).toEqual(['j#1', 'k#1', 'k#2']);
    expect(store.stats()).toMatchObject({ held: 0, paused: 0 });
  });

  it('does not re-admit a failed job when its retry delay has passed while its key is paused', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed');
    store.pause('k');
    advanceTo(scheduler, 5);
    expect(entry.admitted).toEqual(['k#1']);
    expect(store.stats()).toMatchObject({ held: 1, retrying: 0 });
    store.resume('k');
    expect(entry.admitted).toEqual(['k#1', 'k#1']);
  });

  it('keeps no bookkeeping for a key paused and resumed with nothing held, and ignores resuming a key never paused', () => {
    const store = newStore({ scheduler: newScheduler() });
    store.pause('k');
    expect(store.stats().keys).toBe(1);
    store.resume('k');
    store.resume('never-paused');
    expect(store.stats()).toMatchObject({ keys: 0, paused: 0 });
  });

  it('rejects a key that is not a string with a TypeError', () => {
    const store = newStore({ scheduler: newScheduler() });
    expect(() => store.pause(1 as unknown as string)).toThrow(TypeError);
    expect(() => store.resume(null as unknown as string)).toThrow(TypeError);
    expect(() => store.paused({} as unknown as string)).toThrow(/key must be a string/);
  });
});
