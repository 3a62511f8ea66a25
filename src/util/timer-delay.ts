/**
 * The longest delay a timer can wait: Node and browsers keep timer delays in
 * a signed 32-bit integer and run a longer one after 1 ms, which would turn a
 * long backoff into a retry storm (about 24.8 days).
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** `ms`, capped at {@link MAX_TIMER_DELAY}: a delay the scheduler's timers honour. */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_DELAY ? MAX_TIMER_DELAY : ms;
}
