// Public surface of 'rx-barrier/postgres' (re-exports only). Loads `pg`.
export { PgJobQueue, PG_QUEUE_DEFAULTS } from './queue.js';
export type { PgJobQueueOptions } from './queue.js';
export type { PgJob } from './pg-job.js';
export type { NewPgJob } from './enqueue.js';
export { PG_WORK_DEFAULTS } from './work-options.js';
export type { PgWorkOptions, PgDeliveryContext, PgDeliveryOutcome } from './work-options.js';
export type { PgWorker } from './worker.js';
export { PgJobSource } from './pg-job-source.js';
export type { PgJobSourceOptions } from './pg-job-source.js';
export { PgOutcomeCommitter } from './outcome-committer.js';
export type { PgOutcome } from './outcome-committer.js';
export { committedDelivery } from './delivery-adapter.js';
export type { CommittedDeliveryOptions } from './delivery-adapter.js';
export { DeliverySlots } from './delivery-slots.js';
export { fnv1a32, partitionOf } from './partition-hash.js';
export { tableName } from './table-name.js';
export type { TableName } from './table-name.js';
export { ROW_STATES } from './schema.js';
