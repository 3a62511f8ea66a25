// The test job every store and operator spec uses, its maker, and a store
// keyed by it: one definition, so a spec shows only what it varies.
import { BarrierStore, type BarrierStoreOptions } from '../../src/index.js';

/** A test job: a key and an id, nothing else. */
export interface Job {
  readonly key: string;
  readonly id: number;
}

/** The job `key#id`. */
export const job = (key: string, id: number): Job => ({ key, id });

/** `'k#1'`: a job as a readable string. */
export const label = (value: Job): string => `${value.key}#${value.id}`;

/** A store keyed by `job.key`, ids from `job.id`, with `options` on top. */
export function newStore<T extends Job = Job>(options: Partial<BarrierStoreOptions<T>> = {}): BarrierStore<T> {
  return new BarrierStore<T>({ key: (value) => value.key, jobId: (value) => value.id, ...options });
}
