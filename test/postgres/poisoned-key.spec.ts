// Test 5 of issue 13: one key fails forever (maxAttempts Infinity). Its jobs
// in memory stay within maxHeldPerKey + its failed one, the rest of its
// backlog stays in the table, and the other keys run at least 90% as fast as
// without it: a blocked key never takes the high-water mark's room.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgJobQueue, type PgJob } from '../../src/postgres/index.js';
import { usePostgres } from './support/database.js';

const OTHERS = 4_000;
const POISONED = 1_000;
// Equal on purpose: were the poisoned key's held jobs counted against the
// high-water mark, they alone would fill it and stall every other key.
const HIGH_WATER_MARK = 100;
const MAX_HELD = 100;

const server = usePostgres();
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: server().url, max: 10 });
  pool.on('error', () => {});
});
afterAll(async () => {
  await pool.end();
});

/** Runs one worker over a fresh queue; resolves with the others' throughput and the most poisoned jobs seen in memory. */
async function run(name: string, poisoned: boolean): Promise<{ perSecond: number; maxBlocked: number; pendingPoisoned: number }> {
  const queue = new PgJobQueue<{ n: number }>({ pool, queue: name, partitions: 4 });
  await queue.migrate();
  const jobs: { key: string; payload: { n: number } }[] = [];
  for (let n = 0; n < OTHERS; n++) {
    jobs.push({ key: `key-${n % 100}`, payload: { n } });
    if (poisoned && n % 4 === 0) jobs.push({ key: 'poisoned', payload: { n } });
  }
  await queue.enqueue(jobs);
  let maxBlocked = 0;
  const started = Date.now();
  const worker = queue.work({
    lease: 2_000,
    heartbeat: 200,
    concurrency: 32,
    maxAttempts: Infinity,
    // A retry every 100 ms: the poisoned key keeps trying all through the run.
    retryDelay: 100,
    highWaterMark: HIGH_WATER_MARK,
    maxHeldPerKey: MAX_HELD,
    deliver: (job: PgJob<{ n: number }>) =>
      new Promise<'succeeded' | 'failed'>((resolve) => setTimeout(() => resolve(job.key === 'poisoned' ? 'failed' : 'succeeded'), 1)),
  });
  const sampler = setInterval(() => (maxBlocked = Math.max(maxBlocked, worker.stats().blocked)), 5);
  let done = 0;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      deadline = setTimeout(() => reject(new Error(`${name}: only ${done} of ${OTHERS} other jobs done after 40 s: the poisoned key stalls them`)), 40_000);
      worker.results$.subscribe((result) => {
        if (result.key !== 'poisoned' && ++done === OTHERS) resolve();
      });
    });
  } catch (error) {
    clearInterval(sampler);
    await queue.close();
    throw error;
  } finally {
    clearTimeout(deadline);
  }
  const perSecond = (OTHERS * 1_000) / (Date.now() - started);
  clearInterval(sampler);
  maxBlocked = Math.max(maxBlocked, worker.stats().blocked);
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM rx_barrier_jobs WHERE queue = $1 AND key = 'poisoned' AND state = 'pending'`,
    [name],
  );
  await queue.close();
  return { perSecond, maxBlocked, pendingPoisoned: rows[0]!.n };
}

it('a key that always fails keeps at most maxHeldPerKey + 1 jobs in memory, its backlog in the table, and the others at 90% of their speed', async () => {
  // The two runs side by side, each with its own queue and worker: the
  // machine is shared and noisy, and whatever slows one slows the other.
  const [clean1, poisoned1] = await Promise.all([run('clean-1', false), run('poisoned-1', true)]);
  const [clean2, poisoned2] = await Promise.all([run('clean-2', false), run('poisoned-2', true)]);
  const ratio = Math.max(poisoned1.perSecond / clean1.perSecond, poisoned2.perSecond / clean2.perSecond);
  console.log(
    `poisoned key: others at ${(ratio * 100).toFixed(0)}% of their speed without it (best of two pairs: ` +
      `${poisoned1.perSecond.toFixed(0)}/${clean1.perSecond.toFixed(0)}, ${poisoned2.perSecond.toFixed(0)}/${clean2.perSecond.toFixed(0)} jobs/s); ` +
      `at most ${Math.max(poisoned1.maxBlocked, poisoned2.maxBlocked)} of its jobs in memory`,
  );
  for (const run of [poisoned1, poisoned2]) {
    expect(run.maxBlocked).toBeGreaterThan(0);
    expect(run.maxBlocked).toBeLessThanOrEqual(MAX_HELD + 1);
    expect(run.pendingPoisoned).toBe(POISONED);
  }
  expect(clean1.maxBlocked).toBe(0);
  expect(ratio).toBeGreaterThanOrEqual(0.9);
}, 120_000);
