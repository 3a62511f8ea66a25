import type { Ticket } from './ticket.js';

/** Released slots at the front past which the array is compacted. */
const COMPACT_AFTER = 1024;

/**
 * A key's held jobs in job-id order. A new job (the highest id) appends and a
 * release takes the first, both in O(1): a key can hold a burst of hundreds
 * of thousands of jobs behind one failed job, and taking each from the front
 * of a plain array (`splice`, or `shift` once V8 keeps the array in its
 * large-object space) made releasing them quadratic.
 */
export class HeldQueue<T> {
  /** Slots before `head` are released. */
  private items: (Ticket<T> | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The `i`-th held job in id order. */
  at(i: number): Ticket<T> | undefined {
    return this.items[this.head + i];
  }

  /**
   * Inserts in id order, after held jobs of the same id: a new job appends
   * and the oldest goes first, both in O(1).
   */
  insert(ticket: Ticket<T>): void {
    const { items } = this;
    const id = ticket.id;
    if (items.length === this.head || items[items.length - 1]!.id <= id) {
      items.push(ticket);
      return;
    }
    // Binary search for the first held job with a greater id.
    let low = this.head;
    let high = items.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (items[mid]!.id > id) high = mid;
      else low = mid + 1;
    }
    if (low === this.head && low > 0) items[--this.head] = ticket;
    else items.splice(low, 0, ticket);
  }

  /** Removes `ticket` (in O(1) when it is the first); false when it is not held. */
  remove(ticket: Ticket<T>): boolean {
    const { items } = this;
    if (items[this.head] === ticket) {
      items[this.head++] = undefined;
      this.compact();
      return true;
    }
    const at = items.indexOf(ticket, this.head);
    if (at < 0) return false;
    items.splice(at, 1);
    return true;
  }

  /** Removes every held job `drop` selects, keeping the order; returns how many. */
  removeAll(drop: (ticket: Ticket<T>) => boolean): number {
    const { items } = this;
    let kept = 0;
    for (let i = this.head; i < items.length; i++) {
      const ticket = items[i]!;
      if (!drop(ticket)) items[kept++] = ticket;
    }
    const removed = items.length - this.head - kept;
    items.length = kept;
    this.head = 0;
    return removed;
  }

  find(match: (ticket: Ticket<T>) => boolean): Ticket<T> | undefined {
    const { items } = this;
    for (let i = this.head; i < items.length; i++) if (match(items[i]!)) return items[i];
    return undefined;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
