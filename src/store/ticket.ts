import type { Entrance } from './entrance.js';

/**
 * Where a ticket is in the job lifecycle (see docs/lifecycle.dot). The store
 * counts jobs by these states and nothing else: `Ledger.move` is the only
 * place a ticket changes state, so every count follows from the transitions.
 *
 * - `ARRIVED`: made for a job that just came in; not counted yet.
 * - `HELD`: in its key's held queue, waiting for the barrier (blocked while
 *   its key has a failed job recorded, or is paused).
 * - `ADMITTED`: emitted by its entrance; its outcome has not come back.
 * - `RETRYING`: failed; its retry timer runs.
 * - `DONE`: terminal, dropped (overflow, closed entrance) or orphaned.
 */
export const ARRIVED = 0;
export const HELD = 1;
export const ADMITTED = 2;
export const RETRYING = 3;
export const DONE = 4;
export type TicketState = typeof ARRIVED | typeof HELD | typeof ADMITTED | typeof RETRYING | typeof DONE;

/** The names of the ticket states, by code, for messages and the lifecycle diagram. */
export const TICKET_STATE_NAMES = Object.freeze(['arrived', 'held', 'admitted', 'retrying', 'done'] as const);

/** A job the store keeps track of: held, retrying, or admitted and recorded. */
export interface Ticket<T> {
  readonly job: T;
  readonly key: string;
  readonly id: number;
  /** The `barrierEnter` subscription that admitted it and will re-emit it. */
  readonly entrance: Entrance<T>;
  /** Its lifecycle state; changed by `Ledger.move` only. */
  state: TicketState;
  /** Failed attempts so far. */
  failures: number;
  /**
   * Held again after it was admitted (handed back to wait, or back for its
   * retry): the job its key waits for, never what overflows.
   */
  returning: boolean;
  /**
   * A failure of it was ignored by the barrier (its key was disabled, or
   * ordering off): its key's ordering was traded away, and a later job of
   * the key may have become the failed one meanwhile.
   */
  unordered: boolean;
}

/** A ticket for a job just arrived at `entrance`: no attempt failed yet. */
export function newTicket<T>(job: T, key: string, id: number, entrance: Entrance<T>): Ticket<T> {
  return { job, key, id, entrance, state: ARRIVED, failures: 0, returning: false, unordered: false };
}
