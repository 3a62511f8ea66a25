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

  /** Whether the store is at its mark (what `pressure$` last said). */
  get full(): boolean {
    return this.subject.value;
  }

  /** Re-reads `count` (the jobs the mark bounds) and tells `pressure$` when it crosses a mark. */
  update(count: number): void {
    const pressured = this.subject.value;
    if (!pressured && count >= this.highWaterMark) this.subject.next(true);
    else if (pressured && count <= this.lowWaterMark) this.subject.next(false);
  }

  /** How many more jobs fit below the mark (0 under pressure). */
  room(count: number): number {
    if (this.subject.value) return 0;
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
