/**
 * The workload: interleaved events of many users, and for each event the
 * script of answers the receiver will give to its successive attempts.
 * Everything here is a pure function of the seed, so a run can be replayed.
 */
import type { DeliveryOutcome } from '../../src/operators/index.js';

/** One webhook event. `id` increases in the order events were produced (a database sequence). */
export interface WebhookEvent {
  /** The ordering key. */
  readonly userId: string;
  /** The job id: global and increasing, hence increasing per user too. */
  readonly id: number;
  /** 1 for the user's first event, 2 for the next, ... (for humans reading logs). */
  readonly seq: number;
}

/**
 * One answer of the receiver: an HTTP status, or `'timeout'`, where the
 * receiver holds the response longer than the client waits.
 */
export type Step = number | 'timeout';

/** The answers the receiver gives to an event's attempts, in order. */
export interface EventScript {
  readonly userId: string;
  readonly id: number;
  readonly steps: readonly Step[];
}

/**
 * The status that means "received, and deliberately ignored": the client
 * reports it as `filtered`. It is a 2xx, so the receiver counts it as accepted.
 */
export const FILTERED_STATUS = 204;

/**
 * How the client reads an answer: 204 → filtered, other 2xx → succeeded,
 * 429 and 5xx → failed (retried), other 4xx → aborted (never retried).
 * A timeout (no answer in time) is a failed attempt too.
 */
export function outcomeOf(status: number): DeliveryOutcome {
  if (status === FILTERED_STATUS) return 'filtered';
  if (status >= 200 && status < 300) return 'succeeded';
  if (status === 429 || status >= 500) return 'failed';
  if (status >= 400) return 'aborted';
  return 'failed';
}

/** Whether an answer makes the client try again. */
export function isRetryable(step: Step): boolean {
  return step === 'timeout' || outcomeOf(step) === 'failed';
}

/** What an event's script leads to when the client gives up after `maxAttempts`. */
export interface Prediction {
  readonly state: 'succeeded' | 'aborted' | 'filtered';
  /** How many steps the client consumes: the receiver must see exactly this many requests. */
  readonly attempts: number;
}

/**
 * Walks the script as the client will: the first non-retryable answer is the
 * outcome; if the first `maxAttempts` answers are all retryable, the last of
 * them aborts the event (orderedDelivery reports that failure as `aborted`).
 */
export function predict(steps: readonly Step[], maxAttempts: number): Prediction {
  for (let i = 0; i < steps.length && i < maxAttempts; i++) {
    const step = steps[i]!;
    const outcome = step === 'timeout' ? 'failed' : outcomeOf(step);
    if (outcome !== 'failed') return { state: outcome, attempts: i + 1 };
  }
  if (steps.length >= maxAttempts) return { state: 'aborted', attempts: maxAttempts };
  throw new Error(`script ${JSON.stringify(steps)} ends with a retryable answer before attempt ${maxAttempts}`);
}

/** mulberry32: a small seeded PRNG, good enough for workloads, returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<V>(random: () => number, weighted: readonly (readonly [V, number])[]): V {
  const total = weighted.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return weighted[weighted.length - 1]![0];
}

/** Answers that end an event: mostly 200, some 400 (aborted), a few 204 (filtered). */
const FINAL_ANSWERS: readonly (readonly [Step, number])[] = [
  [200, 80],
  [400, 15],
  [FILTERED_STATUS, 5],
];

/** Answers that make the client retry: mostly 500, some 503 and 429, a few timeouts. */
const RETRYABLE_ANSWERS: readonly (readonly [Step, number])[] = [
  [500, 50],
  [503, 20],
  [429, 25],
  ['timeout', 5],
];

/** What to generate. */
export interface WorkloadOptions {
  users: number;
  events: number;
  /** Probability that an attempt gets a retryable answer, in [0, 1]. */
  failRate: number;
  seed: number;
  /** The client's attempt limit: scripts have at most this many retryable answers. */
  maxAttempts: number;
}

/** The generated workload: events in production order and their scripts by event id. */
export interface Workload {
  readonly events: readonly WebhookEvent[];
  readonly scripts: ReadonlyMap<number, EventScript>;
}

/**
 * Generates `users × events` events, interleaved across users in a seeded
 * random order, with ids increasing in that order. Each script is some
 * retryable answers (each with probability `failRate`, at most `maxAttempts`,
 * so the attempt limit is exercised too) followed by one final answer.
 */
export function generateWorkload({ users, events, failRate, seed, maxAttempts }: WorkloadOptions): Workload {
  const random = seededRandom(seed);
  const width = String(users).length;
  const userIds = Array.from({ length: users }, (_, i) => `user-${String(i + 1).padStart(width, '0')}`);
  // Every user appears `events` times; a seeded shuffle interleaves them.
  const order = Array.from({ length: users * events }, (_, i) => i % users);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const seqs = new Array<number>(users).fill(0);
  const list: WebhookEvent[] = [];
  const scripts = new Map<number, EventScript>();
  order.forEach((user, index) => {
    const event: WebhookEvent = { userId: userIds[user]!, id: index + 1, seq: ++seqs[user]! };
    const steps: Step[] = [];
    while (steps.length < maxAttempts && random() < failRate) steps.push(pick(random, RETRYABLE_ANSWERS));
    steps.push(pick(random, FINAL_ANSWERS));
    list.push(event);
    scripts.set(event.id, { userId: event.userId, id: event.id, steps });
  });
  return { events: list, scripts };
}
