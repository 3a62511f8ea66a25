import type { Entrance } from './entrance.js';
import { HeldQueue } from './held-queue.js';
import { ADMITTED, ARRIVED, DONE, HELD, RETRYING, type Ticket, type TicketState } from './ticket.js';

/** Parked (idle) books kept at most; past this, all of them are deleted at once. */
const PARKED_LIMIT = 4096;

/** The store's books for one key; parked as soon as the key is idle. */
export class KeyBook<T> {
  /** Jobs held back, in job-id order. */
  readonly held = new HeldQueue<T>();
  /** Admitted jobs the store tracks individually, oldest first. */
  readonly running: Ticket<T>[] = [];
  /** Failed jobs waiting for their retry timer. */
  retrying = 0;
  paused = false;
  /** How many of `held` are blocked (see `Ledger.reblock`). */
  blocked = 0;
  /** Idle, and kept for the key's next job (see `Ledger.dropIfIdle`): reads as no book. */
  parked = false;

  get idle(): boolean {
    return this.held.length === 0 && this.running.length === 0 && this.retrying === 0 && !this.paused;
  }

  findRunning(id: number): Ticket<T> | undefined {
    return this.running.find((ticket) => ticket.id === id);
  }
}

/**
 * Where every job is: tickets by key and state, and the counts by state.
 * `move` is the one transition of a ticket from one state to another, and the
 * counts change there and nowhere else. Untracked admitted jobs (no record,
 * no ticket) are counted by `admitUntracked`/`finishUntracked`.
 */
export class Ledger<T> {
  /** Books by key, parked ones included. */
  private readonly books = new Map<string, KeyBook<T>>();
  private parkedCount = 0;
  private heldCount = 0;
  private blockedCount = 0;
  private retryingCount = 0;
  private admittedCount = 0;
  private pausedCount = 0;

  /** `failedJobOf(key)`: the key's failed job as the barrier records it, for the blocked rule. */
  constructor(private readonly failedJobOf: (key: string) => number | undefined) {}

  get held(): number {
    return this.heldCount;
  }
  get blocked(): number {
    return this.blockedCount;
  }
  get retrying(): number {
    return this.retryingCount;
  }
  get admitted(): number {
    return this.admittedCount;
  }
  get paused(): number {
    return this.pausedCount;
  }
  /** Jobs that can make progress: the count `highWaterMark` bounds. */
  get progressing(): number {
    return this.heldCount - this.blockedCount + this.retryingCount + this.admittedCount;
  }

  /** Keys with bookkeeping (held, retrying, tracked or paused jobs). */
  get keys(): number {
    return this.books.size - this.parkedCount;
  }

  /** The key's book, unless it has none (or only a parked one). */
  bookOf(key: string): KeyBook<T> | undefined {
    // No book at all (nothing ever held, retried or tracked): the plain
    // pipeline asks three times a job, and a miss costs ~30 instructions.
    if (this.books.size === 0) return undefined;
    const book = this.books.get(key);
    return book === undefined || book.parked ? undefined : book;
  }

  /** The key's book, made (or unparked) when it has none. */
  book(key: string): KeyBook<T> {
    let book = this.books.get(key);
    if (book === undefined) {
      book = new KeyBook<T>();
      this.books.set(key, book);
    } else if (book.parked) {
      book.parked = false;
      this.parkedCount--;
    }
    return book;
  }

  /** Every key with bookkeeping and its book; deleting while iterating is safe. */
  *entries(): IterableIterator<[string, KeyBook<T>]> {
    for (const pair of this.books) if (!pair[1].parked) yield pair;
  }

  /**
   * Ends the key's book once it is idle. The book is parked, not deleted, for
   * the key's next job: with keyThreshold every job is tracked, and deleting
   * and re-adding each key's book churned the map (as RecordMap's idle
   * records avoid). Parked books are deleted together past PARKED_LIMIT.
   */
  dropIfIdle(key: string, book: KeyBook<T>): void {
    if (book.parked || !book.idle || this.books.get(key) !== book) return;
    book.parked = true;
    if (++this.parkedCount <= PARKED_LIMIT) return;
    for (const [parkedKey, parked] of this.books) if (parked.parked) this.books.delete(parkedKey);
    this.parkedCount = 0;
  }

  /** A job admitted with no record and no ticket: only counted. */
  admitUntracked(entrance: Entrance<T>): void {
    entrance.untracked++;
    this.admittedCount++;
  }

  /** An untracked admitted job's outcome came (`entrance` undefined: an orphan's, counted off at close). */
  finishUntracked(entrance: Entrance<T> | undefined): void {
    if (entrance === undefined) return;
    entrance.untracked--;
    this.admittedCount--;
  }

  /** An untracked admitted job gets a ticket (to wait or retry): still admitted. */
  track(ticket: Ticket<T>): void {
    ticket.entrance.untracked--;
    ticket.entrance.tickets++;
    ticket.state = ADMITTED;
    this.book(ticket.key).running.push(ticket);
  }

  /** The entrance closed: its untracked jobs leave the count (they may still report, as orphans). */
  dropUntracked(entrance: Entrance<T>): number {
    const count = entrance.untracked;
    this.admittedCount -= count;
    entrance.untracked = 0;
    return count;
  }

  /**
   * Moves `ticket` to state `to`, updating its key's containers and the
   * counts. False when the ticket is not where its state says (user code
   * took it meanwhile: its entrance closed): nothing changes then.
   */
  move(ticket: Ticket<T>, to: TicketState, book: KeyBook<T> = this.book(ticket.key)): boolean {
    const from = ticket.state;
    const { key } = ticket;
    switch (from) {
      case ARRIVED:
        ticket.entrance.tickets++;
        break;
      case HELD:
        if (!book.held.remove(ticket)) return this.missing(key, book);
        this.heldCount--;
        break;
      case ADMITTED: {
        const { running } = book;
        const at = running[0] === ticket ? 0 : running.indexOf(ticket);
        if (at < 0) return this.missing(key, book);
        if (running.length === 1) running.pop();
        else running.splice(at, 1);
        this.admittedCount--;
        break;
      }
      case RETRYING:
        book.retrying--;
        this.retryingCount--;
        break;
      default:
        return this.missing(key, book);
    }
    switch (to) {
      case HELD:
        book.held.insert(ticket);
        this.heldCount++;
        break;
      case ADMITTED:
        book.running.push(ticket);
        this.admittedCount++;
        break;
      case RETRYING:
        book.retrying++;
        this.retryingCount++;
        break;
      case DONE:
        ticket.entrance.tickets--;
        break;
    }
    ticket.state = to;
    if (from === HELD || to === HELD) this.reblock(key, book);
    if (to === DONE || to === RETRYING) this.dropIfIdle(key, book);
    return true;
  }

  /** Removes held tickets `drop` selects (a closing entrance's); returns them. */
  dropHeld(key: string, book: KeyBook<T>, drop: (ticket: Ticket<T>) => boolean): void {
    if (book.held.length === 0) return;
    const dropped = book.held.removeAll((ticket) => {
      if (!drop(ticket)) return false;
      ticket.state = DONE;
      ticket.entrance.tickets--;
      return true;
    });
    this.heldCount -= dropped;
    if (dropped > 0) this.reblock(key, book);
  }

  pause(key: string): boolean {
    const book = this.book(key);
    if (book.paused) return false;
    book.paused = true;
    this.pausedCount++;
    this.reblock(key, book);
    return true;
  }

  resume(key: string): boolean {
    const book = this.books.get(key);
    if (book === undefined || !book.paused) return false;
    book.paused = false;
    this.pausedCount--;
    this.reblock(key, book);
    this.dropIfIdle(key, book);
    return true;
  }

  /**
   * Re-counts the key's blocked held jobs: all of them while it is paused;
   * while it has a failed job recorded, all but that job (which is what moves
   * the key). Called when the held jobs or the key's failed job change.
   */
  reblock(key: string, book: KeyBook<T> | undefined = this.books.get(key)): void {
    if (book === undefined) return;
    const held = book.held;
    let blocked = 0;
    if (held.length > 0) {
      if (book.paused) blocked = held.length;
      else {
        const failed = this.failedJobOf(key);
        if (failed !== undefined) {
          const head = held.at(0)!;
          const failedHeld = head.id === failed || (head.id < failed && held.find((ticket) => ticket.id === failed) !== undefined);
          blocked = failedHeld ? held.length - 1 : held.length;
        }
      }
    }
    this.blockedCount += blocked - book.blocked;
    book.blocked = blocked;
  }

  private missing(key: string, book: KeyBook<T>): false {
    this.dropIfIdle(key, book);
    return false;
  }
}
