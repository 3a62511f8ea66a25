import type { HeldQueue } from './held-queue.js';
import type { KeyBook } from './ledger.js';
import type { HeldReason } from './events.js';
import type { Ticket } from './ticket.js';

/**
 * The hold rules: when a job is held instead of admitted, which held job is
 * released next, and which one overflows `maxHeldPerKey`.
 *
 * - A new job is held when its key is paused, when its key already holds a
 *   job (it never overtakes one), or when the barrier rejects it.
 * - Held jobs are released in job-id order, stopping at the first the
 *   barrier rejects: else the drain limit would let a later job overtake.
 *   The key's failed job goes first even when an older job is held.
 * - Over `maxHeldPerKey`, the newest job (the highest id) overflows to
 *   `onOverflow`; a job held again after being admitted never does.
 * - Held jobs of a key with a failed job recorded (or paused) are blocked:
 *   they do not count toward `highWaterMark` (see `Ledger.reblock`).
 */

/** Why a new job of a key with bookkeeping is held without asking the barrier, or undefined when it must ask. */
export function holdWithoutAsking<T>(book: KeyBook<T>): HeldReason | undefined {
  if (book.paused) return 'paused';
  return book.held.length > 0 ? 'behind' : undefined;
}

/**
 * The held job to try next, or undefined when the key must wait. Normally the
 * oldest. But the key's failed job can be later than a job back for its
 * retry: one that failed while the key was disabled (keyThreshold,
 * orderingDisabled), the later one after it was enabled again. The failed job
 * goes first (the key never moves otherwise); entering the earlier one would
 * be an illegal sequence of the store's own making. If the failed job is not
 * held, the key waits for its outcome.
 */
export function nextToRelease<T>(held: HeldQueue<T>, failedJobId: number | undefined): Ticket<T> | undefined {
  const head = held.at(0);
  if (head === undefined || failedJobId === undefined || failedJobId <= head.id) return head;
  if (!head.returning) return head; // a new job older than the failed one: the barrier's error says so
  return held.find((ticket) => ticket.id === failedJobId);
}

/**
 * Of a full key's held jobs and a new one, the one to overflow: the newest
 * (highest id), leaving out jobs held again after being admitted. None when
 * that would be the new job and it is the key's failed job, or older than
 * every held one (the failed job entered again after its entrance closed):
 * the key waits for it.
 */
export function overflowVictim<T>(held: HeldQueue<T>, incoming: Ticket<T>, failedJobId: number | undefined): Ticket<T> | undefined {
  for (let i = held.length - 1; i >= 0; i--) {
    const ticket = held.at(i)!;
    if (ticket.id <= incoming.id) break;
    if (!ticket.returning) return ticket;
  }
  if (incoming.id === failedJobId || (held.length > 0 && incoming.id < held.at(0)!.id)) return undefined;
  return incoming;
}
