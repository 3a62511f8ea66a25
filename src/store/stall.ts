import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * Stall detection. The store is *stalled* when it is at its high-water mark
 * (`pressure$` is true, so `pull` asks for nothing) and no job has moved for
 * `stallTimeout` ms: none admitted, released or reported. At the mark only
 * jobs that can make progress count (blocked ones do not), so what is left
 * when nothing moves is, in practice, a delivery that never settles (no
 * `attemptTimeout`), a manual sync never called, or keys held by
 * `keyThreshold` or the drain limit behind jobs that never finish.
 *
 * A watch runs on the store's scheduler only while the store is at the
 * mark. A stall is announced once (`events$` `stalled`); it ends when a job
 * moves or the pressure ends, and a later stall is announced again.
 */
export class StallWatch {
  /** Bumped by the engine at every admission, release and report. */
  moved = 0;
  stalled = false;
  private seen = 0;
  private action: Subscription | undefined;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly timeout: number,
    /** Called once when a stall starts. */
    private readonly onStall: () => void,
  ) {}

  /** Stalled now: announced, and nothing moved since. */
  get now(): boolean {
    return this.stalled && this.moved === this.seen;
  }

  get watching(): boolean {
    return this.action !== undefined;
  }

  start(): void {
    if (this.action !== undefined) return;
    this.seen = this.moved;
    this.action = this.scheduler.schedule(this.check, this.timeout);
  }

  stop(): void {
    this.stalled = false;
    this.action?.unsubscribe();
    this.action = undefined;
  }

  private readonly check = (): void => {
    if (this.moved === this.seen) {
      if (!this.stalled) {
        this.stalled = true;
        this.onStall();
      }
    } else {
      this.stalled = false;
    }
    this.seen = this.moved;
    // onStall may have stopped the watch (a handler freed room).
    if (this.action !== undefined) this.action = this.scheduler.schedule(this.check, this.timeout);
  };
}
