import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, runWebhookDelivery, type Progress, type Summary } from '../examples/webhook-delivery.js';
import { Receiver } from '../examples/webhook/receiver.js';
import { generateWorkload, type EventScript, type Step } from '../examples/webhook/scripts.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** The client's reading of a script, written out again here rather than imported, so the test checks it. */
function consume(steps: readonly Step[], maxAttempts: number): { state: 'succeeded' | 'aborted' | 'filtered'; attempts: number; timeouts: number } {
  let timeouts = 0;
  for (let attempt = 1; attempt <= Math.min(steps.length, maxAttempts); attempt++) {
    const step = steps[attempt - 1]!;
    if (step === 'timeout') timeouts++;
    if (step === 'timeout' || step === 429 || step >= 500) continue;
    return { state: step === 204 ? 'filtered' : step < 300 ? 'succeeded' : 'aborted', attempts: attempt, timeouts };
  }
  return { state: 'aborted', attempts: maxAttempts, timeouts };
}

describe('the webhook delivery example, end to end over loopback', () => {
  // Seed 7 gives these 80 events every kind of script: retries, a timeout,
  // an event that exhausts its attempts, 400s and 204s.
  const options = { users: 8, events: 10, seed: 7, failRate: 0.3, maxAttempts: 3, concurrency: 4, timeoutMs: 1_000, holdMs: 1_500 };
  const { scripts } = generateWorkload(options);
  const predicted = { succeeded: 0, aborted: 0, filtered: 0, attempts: 0, timeouts: 0, exhausted: 0 };
  for (const { steps } of scripts.values()) {
    const outcome = consume(steps, options.maxAttempts);
    predicted[outcome.state]++;
    predicted.attempts += outcome.attempts;
    predicted.timeouts += outcome.timeouts;
    if (steps.length > options.maxAttempts) predicted.exhausted++;
  }
  let summary: Summary;
  const progress: Progress[] = [];

  it('the seeded workload covers every kind of answer', () => {
    expect(predicted.timeouts).toBeGreaterThanOrEqual(1);
    expect(predicted.exhausted).toBeGreaterThanOrEqual(1);
    expect(predicted.filtered).toBeGreaterThanOrEqual(1);
    expect(predicted.aborted).toBeGreaterThan(predicted.exhausted);
    expect(predicted.attempts).toBeGreaterThan(80);
  });

  it('passes every check the receiver and the client make', async () => {
    summary = await runWebhookDelivery(options, (p) => progress.push(p));
    for (const check of summary.checks) expect(check, check.detail).toMatchObject({ ok: true });
    expect(summary.checks.map((check) => check.name)).toEqual([
      'accepted events arrived in ascending id order, per user',
      'nothing was delivered after its final outcome',
      'no event was delivered while an earlier event of its user was unfinished',
      'every script was consumed exactly, attempt by attempt',
      'one result per event, ascending per user, as its script predicts',
      'the store holds no jobs after completion',
    ]);
    expect(summary.ok).toBe(true);
  });

  it('reports the figures the scripts predict', () => {
    expect(summary.events).toBe(80);
    expect(summary.succeeded + summary.aborted + summary.filtered).toBe(summary.events);
    expect({ succeeded: summary.succeeded, aborted: summary.aborted, filtered: summary.filtered }).toEqual({
      succeeded: predicted.succeeded,
      aborted: predicted.aborted,
      filtered: predicted.filtered,
    });
    expect(summary.attempts).toBe(predicted.attempts);
    expect(summary.retries).toBe(summary.attempts - summary.events);
    expect(summary.timeouts).toBe(predicted.timeouts);
    expect(summary.expected).toEqual({
      succeeded: predicted.succeeded,
      aborted: predicted.aborted,
      filtered: predicted.filtered,
      attempts: predicted.attempts,
      timeouts: predicted.timeouts,
    });
    // The receiver counted the same requests; 204 is a 2xx, so filtered events count as accepted.
    expect(summary.receiver).toEqual({ requests: summary.attempts, accepted: summary.succeeded + summary.filtered });
  });

  it('reports timing and the store figures sensibly', () => {
    expect(summary.durationMs).toBeGreaterThan(0);
    expect(summary.throughput).toBeCloseTo(summary.events / (summary.durationMs / 1000), 0);
    const { eventP50, eventP99, requestP50, requestP99, requestMax } = summary.latencyMs;
    expect(eventP50).toBeLessThanOrEqual(eventP99);
    expect(requestP50).toBeLessThanOrEqual(requestP99);
    expect(requestP99).toBeLessThanOrEqual(requestMax);
    // An event that timed out once waited at least the timeout before its final outcome.
    expect(eventP99).toBeGreaterThanOrEqual(options.timeoutMs);
    expect(summary.store.peakInStore).toBeGreaterThan(0);
    expect(summary.store.peakInStore).toBeLessThanOrEqual(summary.store.highWaterMark);
    expect(summary.store.peakHeld).toBeLessThanOrEqual(summary.store.peakInStore);
  });

  it('reports progress up to every event done', () => {
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ total: 80, done: 80, attempts: summary.attempts, retries: summary.retries, inStore: 0 });
  });
});

describe('the receiver', () => {
  const scripts = new Map<number, EventScript>([
    [1, { userId: 'u', id: 1, steps: [500, 200] }],
    [2, { userId: 'u', id: 2, steps: [200] }],
  ]);
  const post = async (url: string, id: number, attempt: number): Promise<number> => {
    const response = await fetch(url, { method: 'POST', body: JSON.stringify({ userId: 'u', id, attempt }) });
    await response.arrayBuffer();
    return response.status;
  };

  it('passes a delivery in order', async () => {
    const receiver = await Receiver.start({ scripts, maxAttempts: 3, holdMs: 50 });
    try {
      expect([await post(receiver.url, 1, 1), await post(receiver.url, 1, 2), await post(receiver.url, 2, 1)]).toEqual([500, 200, 200]);
      expect(receiver.report().checks.every((check) => check.ok)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('catches an event sent while an earlier one awaits its retry, and one sent again after its final answer', async () => {
    const receiver = await Receiver.start({ scripts, maxAttempts: 3, holdMs: 50 });
    try {
      await post(receiver.url, 1, 1); // 500: event 1 must be retried before event 2 goes
      await post(receiver.url, 2, 1); // too early
      await post(receiver.url, 1, 2); // 200, accepted after event 2: out of order
      expect(await post(receiver.url, 2, 2)).toBe(409); // after its final answer
      const failed = receiver.report().checks.filter((check) => !check.ok);
      expect(failed.map((check) => check.name)).toEqual([
        'accepted events arrived in ascending id order, per user',
        'nothing was delivered after its final outcome',
        'no event was delivered while an earlier event of its user was unfinished',
      ]);
      expect(failed.map((check) => check.detail).join('\n')).toContain('u accepted event 1 after event 2');
    } finally {
      await receiver.close();
    }
  });

  it('catches a script not consumed exactly', async () => {
    const receiver = await Receiver.start({ scripts, maxAttempts: 3, holdMs: 50 });
    try {
      await post(receiver.url, 1, 2); // attempt 2 before attempt 1
      const consumed = receiver.report().checks.find((check) => check.name.startsWith('every script'))!;
      expect(consumed.ok).toBe(false);
      expect(consumed.detail).toContain('u event 1 attempt 2 arrived before attempt 1');
      expect(consumed.detail).toContain('u event 2 got 0 of its 1 attempts');
    } finally {
      await receiver.close();
    }
  });
});

describe('the workload', () => {
  it('is the same for the same seed, interleaved, with ids ascending per user', () => {
    const options = { users: 5, events: 6, seed: 42, failRate: 0.5, maxAttempts: 2 };
    const a = generateWorkload(options);
    expect(generateWorkload(options)).toEqual(a);
    expect(generateWorkload({ ...options, seed: 43 }).scripts).not.toEqual(a.scripts);
    expect(a.events.map((event) => event.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const byUser = new Map<string, { seq: number }[]>();
    for (const event of a.events) byUser.set(event.userId, [...(byUser.get(event.userId) ?? []), event]);
    expect(byUser.size).toBe(5);
    for (const events of byUser.values()) expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // Interleaved: the first ten events are not all one user's.
    expect(new Set(a.events.slice(0, 10).map((event) => event.userId)).size).toBeGreaterThan(1);
    for (const { steps } of a.scripts.values()) expect(steps.length).toBeLessThanOrEqual(options.maxAttempts + 1);
  });
});

describe('the command line', () => {
  it('parses flags into options', () => {
    expect(parseCommandLine(['--users', '3', '--events=4', '--fail-rate', '0.5', '--seed', '9', '--max-attempts', '2', '--json'])).toMatchObject({
      help: false,
      json: true,
      options: { users: 3, events: 4, failRate: 0.5, seed: 9, maxAttempts: 2 },
    });
    expect(parseCommandLine(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--users', '0'], '--users must be an integer from 1 to 100000, got 0'],
    [['--events', 'ten'], '--events must be a number, got "ten"'],
    [['--fail-rate', '1.5'], '--fail-rate must be a number from 0 to 1, got 1.5'],
    [['--concurrency', '2.5'], '--concurrency must be an integer from 1 to 10000, got 2.5'],
    [['--max-attempts', ''], '--max-attempts must be a number, got ""'],
    [['--seed=-1'], '--seed must be an integer from 0 to 4294967295, got -1'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], "Unexpected argument 'extra'"],
  ])('rejects %j', (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(message);
  });

  it('prints a summary as JSON with --json, and exits 0', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '3', '--events', '4', '--seed', '5', '--json'], { cwd: root });
    const summary = JSON.parse(stdout) as Summary;
    expect(summary).toMatchObject({ events: 12, ok: true, options: { users: 3, events: 4, seed: 5 } });
    expect(summary.succeeded + summary.aborted + summary.filtered).toBe(12);
  });

  it('exits 2 with a clear message on a bad flag', async () => {
    const failure = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '0'], { cwd: root }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(failure).toBeDefined();
    expect(failure!.code).toBe(2);
    expect(failure!.stdout).toBe('');
    expect(failure!.stderr).toContain('webhook-delivery: --users must be an integer from 1 to 100000, got 0');
    expect(failure!.stderr).toContain('--help');
  });
});
