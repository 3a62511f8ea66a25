// Measures the memory a blocked key costs in a PgWorker: 200 keys whose jobs
// always fail, each with more jobs in the table than maxHeldPerKey, one worker;
// heap after GC once every key holds its failed job + maxHeldPerKey others,
// against the same worker with nothing read. Run:
//   node --expose-gc --import tsx scripts/measure-blocked-key-memory.ts
import { PgJobQueue } from '../src/postgres/index.js';
import { startPostgres } from './postgres-server.js';

const KEYS = 200;
const MAX_HELD = 50;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const heap = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().heapUsed;
};

const server = await startPostgres();
try {
  const queue = new PgJobQueue<{ n: number }>({ connectionString: server.url, queue: 'memory', partitions: 8 });
  await queue.migrate();
  const worker = queue.work({
    lease: 2_000,
    maxAttempts: Infinity,
    retryDelay: 600_000,
    maxHeldPerKey: MAX_HELD,
    highWaterMark: 10_000,
    deliver: () => 'failed',
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const before = await heap();
  const jobs = [];
  for (let n = 0; n < KEYS * (MAX_HELD + 20); n++) jobs.push({ key: `key-${n % KEYS}`, payload: { n } });
  await queue.enqueue(jobs);
  const wanted = KEYS * (MAX_HELD + 1);
  const deadline = Date.now() + 60_000;
  while (worker.stats().blocked < wanted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const { blocked, inMemory } = worker.stats();
  const after = await heap();
  const perJob = (after - before) / inMemory;
  console.log(
    `${blocked} jobs of ${KEYS} blocked keys in memory (maxHeldPerKey ${MAX_HELD}): ${((after - before) / 1024 / 1024).toFixed(1)} MiB, ` +
      `${perJob.toFixed(0)} bytes a job, ${((perJob * (MAX_HELD + 1)) / 1024).toFixed(1)} KiB a blocked key ` +
      `(payload {"n": number}); at the default maxHeldPerKey 1000: ${((perJob * 1001) / 1024).toFixed(0)} KiB a key`,
  );
  await queue.close();
} finally {
  await server.stop();
}
