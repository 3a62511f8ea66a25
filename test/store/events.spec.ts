// BarrierStore events$: one event for each step of a job, in step with stats().
import { Subject, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BarrierStore, type BarrierStoreEvent } from '../../src/index.js';
import { orderedDelivery } from '../../src/operators/index.js';
import { job, newStore, type Job } from '../support/jobs.js';
import { newScheduler, advanceTo, Entry, wait, report } from '../support/store-harness.js';

describe('BarrierStore events$', () => {
  function record(store: BarrierStore<Job>): string[] {
    const events: string[] = [];
    store.events$.subscribe((event: BarrierStoreEvent<Job>) => {
      switch (event.type) {
        case 'held':
          events.push(`held ${event.key}#${event.jobId} ${event.reason}`);
          break;
        case 'failed':
          events.push(`failed ${event.key}#${event.jobId} attempt ${event.attempt} retryIn ${event.retryIn} error ${String(event.error)}`);
          break;
        case 'terminal':
          events.push(`terminal ${event.key}#${event.jobId} ${event.state} attempts ${event.attempts}`);
          break;
        case 'recordCreated':
        case 'recordDeleted':
        case 'keyDisabled':
          events.push(`${event.type} ${event.key}`);
          break;
        case 'synced':
          events.push(`synced ${event.applied}`);
          break;
        case 'stalled':
          events.push(`stalled ${event.keys.join(',')}`);
          break;
        default:
          events.push(`${event.type} ${event.key}#${event.jobId}`);
      }
    });
    return events;
  }

  it('emits admitted, then terminal with the attempt count, for a job that goes straight through', () => {
    const store = newStore({ scheduler: newScheduler() });
    const events = record(store);
    new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'succeeded');
    expect(events).toEqual(['admitted k#1', 'terminal k#1 succeeded attempts 1']);
  });

  it('emits recordCreated, failed (attempt, retry delay, error), held with its reason, released, recordDeleted and synced around a retry', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, retryDelay: 5 });
    const events = record(store);
    const entry = new Entry(store).push(job('k', 1));
    report(store, job('k', 1), 'failed', 'HTTP 503');
    entry.push(job('k', 2), job('k', 3));
    advanceTo(scheduler, 5);
    report(store, job('k', 1), 'succeeded');
    advanceTo(scheduler, 6);
    expect(events).toEqual([
      'admitted k#1',
      'recordCreated k',
      'failed k#1 attempt 1 retryIn 5 error HTTP 503',
      'held k#2 rejected',
      'held k#3 behind',
      'released k#1',
      'terminal k#1 succeeded attempts 2',
      'recordDeleted k',
      'synced 1',
      'released k#2',
      'released k#3',
    ]);
    expect(entry.admitted).toEqual(['k#1', 'k#1', 'k#2', 'k#3']);
  });

  it('keeps emitting to the subscribers left when one unsubscribes, and again to one that subscribes after all left', () => {
    const store = newStore({ scheduler: newScheduler() });
    const entry = new Entry(store);
    const first: string[] = [];
    const second: string[] = [];
    const a = store.events$.subscribe((event) => first.push(event.type));
    const b = store.events$.subscribe((event) => second.push(event.type));
    entry.push(job('k', 1));
    a.unsubscribe();
    report(store, job('k', 1), 'succeeded');
    expect(first).toEqual(['admitted']);
    expect(second).toEqual(['admitted', 'terminal']);
    b.unsubscribe();
    entry.push(job('k', 2));
    const late = record(store);
    report(store, job('k', 2), 'succeeded');
    expect(second).toEqual(['admitted', 'terminal']);
    expect(late).toEqual(['terminal k#2 succeeded attempts 1']);
  });

  it('emits held with reason paused for a job of a paused key', () => {
    const store = newStore({ scheduler: newScheduler() });
    const events = record(store);
    store.pause('k');
    new Entry(store).push(job('k', 1));
    expect(events).toEqual(['held k#1 paused']);
  });

  it('emits waiting for a job barrierWait hands back', () => {
    const store = newStore({ scheduler: newScheduler() });
    const events = record(store);
    new Entry(store).push(job('k', 1), job('k', 2));
    report(store, job('k', 1), 'failed');
    expect(wait(store, job('k', 2))).toBe(false);
    expect(events.slice(-1)).toEqual(['waiting k#2']);
  });

  it('emits overflow for a job handed to onOverflow', () => {
    const store = newStore({ scheduler: newScheduler(), maxHeldPerKey: 0, onOverflow: () => undefined });
    const events = record(store);
    store.pause('k');
    new Entry(store).push(job('k', 1));
    expect(events).toEqual(['overflow k#1']);
  });

  it('emits keyDisabled once when a hot key passes keyThreshold, not for each job it then lets through', () => {
    // Regression: keyDisabled was emitted again for every later job of the
    // disabled key and at every prune while it stayed disabled.
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 2, disabledDuration: 10, halfEnabledDuration: 5 });
    const events = record(store);
    new Entry(store).push(job('k', 1), job('k', 2), job('k', 3), job('k', 4));
    advanceTo(scheduler, 12);
    expect(events).toEqual(['recordCreated k', 'admitted k#1', 'admitted k#2', 'keyDisabled k', 'admitted k#3', 'admitted k#4']);
  });
});

describe('BarrierStore events$: records deleted outside a sync', () => {
  it('reports recordDeleted when unsubscribing leaves the barrier for a recorded job', () => {
    const store = newStore({ scheduler: newScheduler(), keyThreshold: 5 });
    const events: BarrierStoreEvent<Job>['type'][] = [];
    store.events$.subscribe((event) => events.push(event.type));
    const entry = new Entry(store).push(job('k', 1));
    expect(events).toEqual(['recordCreated', 'admitted']);
    entry.close();
    expect(events).toEqual(['recordCreated', 'admitted', 'recordDeleted']);
    expect(store.barrier.size).toBe(0);
  });

  it('reports recordDeleted when the periodic prune deletes an idle key that was disabled', () => {
    const scheduler = newScheduler();
    const store = newStore({ scheduler, keyThreshold: 1, disabledDuration: 10, halfEnabledDuration: 10 });
    const deleted: string[] = [];
    store.events$.subscribe((event) => event.type === 'recordDeleted' && deleted.push(event.key));
    const entry = new Entry(store).push(job('k', 1), job('k', 2));
    expect(store.barrier.disabled('k')).toBe(true);
    report(store, job('k', 1), 'succeeded');
    report(store, job('k', 2), 'succeeded');
    advanceTo(scheduler, 15);
    expect(deleted).toEqual([]);
    advanceTo(scheduler, 40);
    expect(deleted).toEqual(['k']);
    expect(store.barrier.size).toBe(0);
    entry.close();
  });

  it('reports recordDeleted for the record of a release undone because user code closed the entrance', () => {
    const scheduler = new VirtualTimeScheduler();
    const store = newStore({ scheduler, keyThreshold: 5, retryDelay: 10 });
    const source = new Subject<Job>();
    let records = 0;
    let armed = false;
    store.events$.subscribe((event) => {
      if (event.type === 'recordCreated') records++;
      if (event.type === 'recordDeleted') records--;
      if (armed && event.type === 'recordCreated') subscription.unsubscribe();
    });
    const subscription: Subscription = source
      .pipe(orderedDelivery(store, { deliver: (value, { attempt }) => (value.id === 1 && attempt === 1 ? 'failed' : 'succeeded') }))
      .subscribe();
    source.next(job('a', 1)); // fails
    source.next(job('a', 2)); // held behind it
    scheduler.schedule(() => (armed = true), 10); // before 1's retry succeeds and 2 is released
    scheduler.flush();
    expect(store.stats().records).toBe(0);
    expect(records).toBe(0);
  });
});
