import { BehaviorSubject, type Observable } from 'rxjs';

/**
 * The high-water mark: `pressure$` turns true once the jobs that can make
 * progress (admitted, retrying, and held jobs not blocked) reach it, and
 * false again at half of it. Jobs `pull`s have asked their sources for count
 * toward the room while they are on their way.
 */
export class Pressure {
  private readonly subject = new BehaviorSubject(false);
  readonly pressure$: Observable<boolean> = this.subject.asObservable();
  private readonly lowWaterMark: number;
  /** Jobs `pull`s have asked their sources for and not yet received. */
  private requested = 0;

  constructor(readonly highWaterMark: number) {
    this.lowWaterMark = Math.floor(highWaterMark / 2);
  }

  /** What `pressure$` last said, kept here: the subject's `value` getter costs a call per read, on every job. */
  private pressured = false;

  /** Whether the store is at its mark. */
  get full(): boolean {
    return this.pressured;
  }

  /** Re-reads `count` (the jobs the mark bounds) and tells `pressure$` when it crosses a mark. */
  update(count: number): void {
    if (this.pressured ? count > this.lowWaterMark : count < this.highWaterMark) return;
    this.pressured = !this.pressured;
    this.subject.next(this.pressured);
  }

  /** How many more jobs fit below the mark (0 under pressure). */
  room(count: number): number {
    if (this.pressured) return 0;
    return Math.max(0, this.highWaterMark - (count + this.requested));
  }

  /** A `pull` asks for up to `wanted` jobs; returns how many it may ask for, counted until `received`. */
  request(wanted: number, count: number): number {
    const granted = Math.min(wanted, this.room(count));
    this.requested += granted;
    return granted;
  }

  received(count: number): void {
    this.requested -= count;
  }
}
