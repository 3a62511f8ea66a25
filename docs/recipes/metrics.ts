/**
 * Recipe: Prometheus metrics from `store.events$` and `store.stats()`, with
 * prom-client.
 *
 * - `events$` tells what happened: count it. One counter, labelled by event
 *   type, plus the reason a job was held and the state a job ended in.
 * - `stats()` tells what the store holds right now: read it when Prometheus
 *   scrapes, in a gauge's `collect`, rather than tracking it by hand.
 *
 * `events$` builds events only while subscribed, so a store nobody watches
 * pays nothing for them. The pipeline here runs in virtual time.
 *
 * Run it: npx tsx docs/recipes/metrics.ts
 */
import { pathToFileURL } from 'node:url';
import { Counter, Gauge, Registry } from 'prom-client';
import { from, map, timer, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { BarrierStore, type BarrierStoreEvent, type BarrierStoreStats } from '../../src/index.js';
import { orderedDelivery, type DeliveryOutcome } from '../../src/operators/index.js';

/**
 * Registers the store's metrics in `registry` and starts counting its events.
 * Unsubscribe the returned subscription to stop.
 */
export function instrument<T>(store: BarrierStore<T>, registry: Registry, prefix = 'rx_barrier'): Subscription {
  const events = new Counter({
    name: `${prefix}_events_total`,
    help: 'Store events by type; held jobs by reason, terminal jobs by state.',
    labelNames: ['type', 'detail'],
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}_jobs`,
    help: 'Jobs inside the store right now, by where they are.',
    labelNames: ['where'],
    registers: [registry],
    collect() {
      const stats: BarrierStoreStats = store.stats();
      this.set({ where: 'held' }, stats.held);
      this.set({ where: 'retrying' }, stats.retrying);
      this.set({ where: 'admitted' }, stats.admitted);
    },
  });
  new Gauge({
    name: `${prefix}_records`,
    help: 'Keys with a barrier record (a failed job, a drain, a disabled key).',
    registers: [registry],
    collect() {
      this.set(store.stats().records);
    },
  });
  return store.events$.subscribe((event: BarrierStoreEvent<T>) => {
    const detail = event.type === 'held' ? event.reason : event.type === 'terminal' ? event.state : '';
    events.inc({ type: event.type, detail });
  });
}

interface Job {
  readonly account: string;
  readonly id: number;
}

export interface MetricsResult {
  /** `rx_barrier_events_total` by `type` or `type/detail`. */
  readonly events: Readonly<Record<string, number>>;
  /** `rx_barrier_jobs` by `where`, sampled while a failed job held its key. */
  readonly jobsDuringRetry: Readonly<Record<string, number>>;
  /** `rx_barrier_jobs` by `where`, after the run. */
  readonly jobsAfter: Readonly<Record<string, number>>;
  /** The exposition text Prometheus would scrape. */
  readonly text: string;
}

export async function main(): Promise<MetricsResult> {
  const scheduler = new VirtualTimeScheduler();
  const store = new BarrierStore<Job>({ key: (job) => job.account, jobId: (job) => job.id, scheduler, retryDelay: 10 });
  const registry = new Registry();
  const instrumented = instrument(store, registry);

  // acct-1's first job fails once: its next two jobs are held behind it.
  const jobs: Job[] = [
    { account: 'acct-1', id: 1 },
    { account: 'acct-2', id: 1 },
    { account: 'acct-1', id: 2 },
    { account: 'acct-1', id: 3 },
    { account: 'acct-2', id: 2 },
  ];
  let failed = false;
  const deliver = (job: Job) =>
    timer(2, scheduler).pipe(
      map((): DeliveryOutcome => {
        if (job.account === 'acct-1' && job.id === 1 && !failed) {
          failed = true;
          return 'failed';
        }
        return 'succeeded';
      }),
    );
  from(jobs).pipe(orderedDelivery(store, { deliver })).subscribe();

  // Scrape once while acct-1's failed job waits for its retry (due at 12).
  let duringRetry: Promise<Record<string, number>> | undefined;
  scheduler.schedule(() => (duringRetry = gaugeValues(registry, 'rx_barrier_jobs')), 8);
  scheduler.flush();
  instrumented.unsubscribe();

  const counted = await registry.getSingleMetric('rx_barrier_events_total')!.get();
  const events: Record<string, number> = {};
  for (const { labels, value } of counted.values) events[labels.detail ? `${labels.type}/${labels.detail}` : String(labels.type)] = value;
  return {
    events,
    jobsDuringRetry: await duringRetry!,
    jobsAfter: await gaugeValues(registry, 'rx_barrier_jobs'),
    text: await registry.metrics(),
  };
}

async function gaugeValues(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map(({ labels, value }) => [String(labels.where), value]));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((result) => console.log(result.text), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
