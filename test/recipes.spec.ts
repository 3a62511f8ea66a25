import { describe, expect, it } from 'vitest';
import { main as consumeBroker } from '../docs/recipes/consume-broker.js';
import { main as deadLetter } from '../docs/recipes/dead-letter.js';
import { main as gracefulShutdown } from '../docs/recipes/graceful-shutdown.js';
import { main as metrics } from '../docs/recipes/metrics.js';
import { main as migrateFromGroupBy } from '../docs/recipes/migrate-from-group-by.js';
import { main as pauseResume } from '../docs/recipes/pause-resume.js';
import { main as pollDatabaseTable } from '../docs/recipes/poll-database-table.js';

// Each recipe in docs/recipes runs against fakes; running it here keeps it
// from rotting (the type-check keeps it compiling).

/** Per key, the ids in the order they appear in `entries` (`key:id…`). */
function idsByKey(entries: readonly string[]): Record<string, number[]> {
  const byKey: Record<string, number[]> = {};
  for (const entry of entries) {
    const [key, rest] = entry.split(':') as [string, string];
    (byKey[key] ??= []).push(Number.parseInt(rest, 10));
  }
  return byKey;
}

describe('recipes', () => {
  it('poll-database-table: delivers each user in id order, persists every outcome, and leaves the store empty', async () => {
    const result = await pollDatabaseTable();
    expect(idsByKey(result.received)).toEqual({ ann: [1, 5], bob: [2, 4, 6], cat: [7] });
    expect(result.table.map((row) => [row.id, row.status, row.attempts])).toEqual([
      [1, 'succeeded', 1],
      [2, 'succeeded', 1],
      [3, 'aborted', 1],
      [4, 'succeeded', 3],
      [5, 'succeeded', 1],
      [6, 'succeeded', 1],
      [7, 'succeeded', 1],
    ]);
    expect(result.table[3]!.lastError).toBe('Error: HTTP 503 for job 4');
    // bob's job 6 is reported only after job 4 finally succeeded.
    expect(result.statuses.filter((status) => status.startsWith('bob:'))).toEqual([
      'bob:2 succeeded',
      'bob:4 failed',
      'bob:4 failed',
      'bob:4 succeeded',
      'bob:6 succeeded',
    ]);
    expect(result.stats).toMatchObject({ held: 0, retrying: 0, admitted: 0, records: 0, queued: 0, keys: 0 });
  });

  it('consume-broker: acknowledges every message once, in order per key, never more than highWaterMark ahead', async () => {
    const result = await consumeBroker();
    expect(result.acked).toHaveLength(18);
    expect(new Set(result.acked).size).toBe(18);
    for (const ids of Object.values(idsByKey(result.acked))) expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.maxUnacked).toBeLessThanOrEqual(result.highWaterMark);
    // The store did fill up, so pull did stop asking, and it ended relieved.
    expect(result.pressure).toContain(true);
    expect(result.pressure.at(-1)).toBe(false);
  });

  it('graceful-shutdown: on the signal, acknowledges what finished, hands back the rest, and every message is one or the other', async () => {
    const result = await gracefulShutdown();
    expect(result.completed).toBe(true);
    expect(result.nacked.length).toBeGreaterThan(0);
    // Nothing is both acknowledged and handed back, nothing twice.
    const all = [...result.acked, ...result.nacked];
    expect(new Set(all).size).toBe(all.length);
    // The failed orders-us #3 and what is behind it went back, in order; orders-us acked only 1 and 2.
    expect(idsByKey(result.acked)['orders-us']).toEqual([1, 2]);
    const usBack = idsByKey(result.nacked)['orders-us']!;
    expect(usBack[0]).toBe(3);
    expect(usBack).toEqual([...usBack].sort((a, b) => a - b));
    // Per key, what was acknowledged is a prefix, and what went back follows it.
    for (const [key, acked] of Object.entries(idsByKey(result.acked))) {
      expect(acked).toEqual(acked.map((_, i) => i + 1));
      const back = idsByKey(result.nacked)[key] ?? [];
      if (back.length > 0) expect(back[0]).toBe(acked.length + 1);
    }
  });

  it('dead-letter: parks both kinds of aborted results, with the last error, and lets their keys go on', async () => {
    const result = await deadLetter();
    expect(result.deadLetters.map(({ key, jobId, attempts, reason }) => ({ key, jobId, attempts, reason }))).toEqual([
      { key: 'bob', jobId: 1, attempts: 1, reason: undefined },
      { key: 'ann', jobId: 2, attempts: 3, reason: 'HTTP 503 from https://ann.example/down' },
    ]);
    expect(result.results).toEqual(['ann:1 succeeded 1', 'bob:1 aborted 1', 'bob:2 succeeded 1', 'ann:2 aborted 3', 'ann:3 succeeded 1']);
  });

  it('metrics: counts the events and reads the gauges from stats()', async () => {
    const result = await metrics();
    expect(result.events).toMatchObject({ admitted: 5, failed: 1, waiting: 2, released: 3, 'terminal/succeeded': 5 });
    expect(result.jobsDuringRetry).toEqual({ held: 2, retrying: 1, admitted: 0 });
    expect(result.jobsAfter).toEqual({ held: 0, retrying: 0, admitted: 0 });
    expect(result.text).toContain('rx_barrier_events_total{type="terminal",detail="succeeded"} 5');
    expect(result.text).toContain('rx_barrier_records 0');
  });

  it('pause-resume: delivers nothing of the paused tenant inside its window, then its held events in order', () => {
    const { delivered, window } = pauseResume();
    const acme = delivered.filter((entry) => entry.startsWith('acme:'));
    const times = (entries: string[]) => entries.map((entry) => Number(entry.split('@')[1]));
    expect(times(acme).filter((at) => at > window.from && at < window.to)).toEqual([]);
    expect(idsByKey(acme).acme).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(acme.filter((entry) => entry.endsWith(`@${window.to}`))).toEqual(['acme:3@55', 'acme:4@55', 'acme:5@55', 'acme:6@55']);
    // The other tenant is not held up.
    expect(times(delivered.filter((entry) => entry.startsWith('globex:')))).toEqual([0, 10, 20, 30, 40, 50, 60]);
  });

  it('migrate-from-group-by: the same order per user, with a global bound, where groupBy kept a group open per user', () => {
    const result = migrateFromGroupBy();
    const inOrder = { u1: [1, 2, 3], u2: [1, 2, 3], u3: [1, 2, 3], u4: [1, 2, 3], u5: [1, 2, 3], u6: [1, 2, 3] };
    expect(result.before).toEqual({ order: inOrder, maxInFlight: 6, openGroups: 6 });
    expect(result.afterConcatMapByKey).toEqual({ order: inOrder, maxInFlight: 2 });
    expect(result.afterOrderedDelivery).toEqual({ order: inOrder, maxInFlight: 2 });
  });
});
