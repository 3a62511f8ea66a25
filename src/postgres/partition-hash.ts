/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `text`: the hash every process and
 * every release uses to place a key in a partition (and to name a queue's
 * advisory locks and NOTIFY channel). Written down in docs/durable.md; never
 * change it, or the jobs of a key would split across two partitions.
 *
 * @example
 * fnv1a32('user-1'); // 4115888500
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const encoder = new TextEncoder();

/**
 * The partition of a key: `fnv1a32(key) mod partitions`.
 *
 * @example
 * partitionOf('user-1', 64); // 52
 */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}

/**
 * The first half of a two-key advisory lock for one use (`'own'`: partition
 * ownership, `'enqueue'`: enqueue serialisation, `'migrate'`) of one queue of
 * one table: a positive int4, so it reads the same in `pg_locks.classid`.
 */
export function lockNamespace(use: 'own' | 'enqueue' | 'migrate', table: string, queue: string): number {
  return fnv1a32(`rx-barrier\0${use}\0${table}\0${queue}`) & 0x7fffffff;
}
