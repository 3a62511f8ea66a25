import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MIN_TIMEOUT_MS, parseCommandLine, runWebhookDelivery, type Progress, type Summary } from '../examples/webhook-delivery.js';
import { LatencyHistogram } from '../examples/webhook/metrics.js';
import { formatSummary } from '../examples/webhook/report.js';
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

describe('the latency histogram', () => {
  it('reports percentiles and the maximum of what it recorded, to three significant digits', () => {
    const latencies = new LatencyHistogram();
    expect([latencies.percentile(50), latencies.max]).toEqual([0, 0]);
    for (let ms = 1; ms <= 1000; ms++) latencies.record(ms / 10); // 0.1 ms … 100 ms
    expect(latencies.count).toBe(1000);
    expect(latencies.percentile(50)).toBeCloseTo(50, 1);
    expect(latencies.percentile(99)).toBeCloseTo(99, 0);
    expect(latencies.max).toBeCloseTo(100, 0);
  });
});

describe('the summary table', () => {
  const summary: Summary = {
    options: { users: 2, events: 5, concurrency: 1, failRate: 0.5, seed: 1, maxAttempts: 3, timeoutMs: 300, holdMs: 600, highWaterMark: 500 },
    events: 10,
    succeeded: 10,
    aborted: 0,
    filtered: 0,
    attempts: 444,
    retries: 434,
    timeouts: 538,
    expected: { succeeded: 10, aborted: 0, filtered: 0, attempts: 444, timeouts: 5 },
    durationMs: 1000,
    throughput: 10,
    latencyMs: { eventP50: 1, eventP99: 2, requestP50: 1, requestP99: 2, requestMax: 3 },
    store: { peakHeld: 0, peakInStore: 1, highWaterMark: 500, pressureEvents: 0, recordsLeft: 0 },
    receiver: { requests: 444, accepted: 10 },
    checks: [],
    ok: true,
  };

  it('prints timeouts on their own line, next to what the scripts predict', () => {
    const lines = formatSummary(summary).split('\n');
    expect(lines.find((line) => line.trim().startsWith('retries'))).toMatch(/^ {2}retries +434$/);
    expect(lines.find((line) => line.trim().startsWith('timeouts'))).toMatch(/^ {2}timeouts +538 {2}\(scripts predict 5\)$/);
    // The old line nested one parenthesis in another: "434  (538  (scripts predict 5) after a timeout)".
    for (const line of lines) expect(line).not.toMatch(/\([^)]*\(/);
  });
});

describe('the command line', () => {
  it('parses flags into options', () => {
    expect(parseCommandLine(['--users', '3', '--events=4', '--fail-rate', '0.5', '--seed', '9', '--max-attempts', '2', '--json'])).toMatchObject({
      help: false,
      json: true,
      jsonFile: '-',
      options: { users: 3, events: 4, failRate: 0.5, seed: 9, maxAttempts: 2 },
    });
    expect(parseCommandLine(['-h'])).toEqual({ help: true });
  });

  it('takes an optional file after --json, and - or nothing for stdout', () => {
    expect(parseCommandLine(['--json', 'out.json', '--users', '2'])).toMatchObject({ json: true, jsonFile: 'out.json', options: { users: 2 } });
    expect(parseCommandLine(['--json=out.json'])).toMatchObject({ json: true, jsonFile: 'out.json' });
    expect(parseCommandLine(['--json', '-'])).toMatchObject({ json: true, jsonFile: '-' });
    expect(parseCommandLine(['--json', '--users', '2'])).toMatchObject({ json: true, jsonFile: '-', options: { users: 2 } });
    expect(parseCommandLine([])).toMatchObject({ json: false, jsonFile: undefined });
  });

  it.each([
    [['--users', '0'], '--users must be an integer from 1 to 100000, got 0'],
    [['--users', '-1'], '--users must be an integer from 1 to 100000, got -1'],
    [['--users=-1'], '--users must be an integer from 1 to 100000, got -1'],
    [['--users', '1e3'], '--users must be a whole number written in digits, got "1e3"'],
    [['--users', 'abc'], '--users must be a whole number written in digits, got "abc"'],
    [['--users', '0x10'], '--users must be a whole number written in digits, got "0x10"'],
    [['--users', ' 7'], '--users must be a whole number written in digits, got " 7"'],
    [['--events', 'ten'], '--events must be a whole number written in digits, got "ten"'],
    [['--fail-rate', '1.5'], '--fail-rate must be a number from 0 to 1, got 1.5'],
    [['--fail-rate', '-0.5'], '--fail-rate must be a number from 0 to 1, got -0.5'],
    [['--fail-rate', '1e-1'], '--fail-rate must be a decimal number such as 0.25, got "1e-1"'],
    [['--concurrency', '2.5'], '--concurrency must be a whole number written in digits, got "2.5"'],
    [['--max-attempts', ''], '--max-attempts must be a whole number written in digits, got ""'],
    [['--seed=-1'], '--seed must be an integer from 0 to 4294967295, got -1'],
    [['--timeout', '0'], `--timeout must be at least ${MIN_TIMEOUT_MS} ms, got 0: a shorter timeout gives up on requests`],
    [['--timeout', '20'], `--timeout must be at least ${MIN_TIMEOUT_MS} ms, got 20: a shorter timeout gives up on requests`],
    [['--timeout', '60001'], `--timeout must be an integer from ${MIN_TIMEOUT_MS} to 60000, got 60001`],
    [['--users'], '--users needs a value'],
    [['--users', '--events', '3'], '--users needs a value'],
    [['--help=yes'], '--help takes no value'],
    [['--bogus'], 'unknown option --bogus'],
    [['--json='], '--json= needs a file name, or no value at all for stdout'],
    [['extra'], 'unexpected argument extra: every value follows its flag'],
  ])('rejects %j with a message naming the flag and the value', (args, message) => {
    expect(() => parseCommandLine(args)).toThrow(message);
  });

  it('gives a bad --timeout one message, and none about holdMs', () => {
    for (const timeout of ['0', '20', '-5']) {
      const error = (() => {
        try {
          parseCommandLine(['--timeout', timeout]);
        } catch (caught) {
          return caught as Error;
        }
        return undefined;
      })();
      expect(error?.message.split('\n')).toHaveLength(1);
      expect(error?.message).not.toContain('holdMs');
    }
  });

  it('prints a summary as JSON with --json, and exits 0', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '3', '--events', '4', '--seed', '5', '--json'], { cwd: root });
    const summary = JSON.parse(stdout) as Summary;
    expect(summary).toMatchObject({ events: 12, ok: true, options: { users: 3, events: 4, seed: 5 } });
    expect(summary.succeeded + summary.aborted + summary.filtered).toBe(12);
  });

  it('writes the JSON summary to the file given after --json, and the table to stdout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-json-'));
    try {
      const file = join(dir, 'summary.json');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '2', '--events', '3', '--json', file], { cwd: root });
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ events: 6, ok: true });
      expect(stdout).toContain('all checks passed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says so, and exits 1, when the JSON file cannot be written', async () => {
    const missing = join(tmpdir(), 'no-such-directory-for-webhook-json', 'summary.json');
    const failure = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '2', '--events', '2', '--json', missing], { cwd: root }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toContain('all checks passed');
    expect(failure?.stderr).toContain(`webhook-delivery: cannot write the JSON summary to ${missing}: ENOENT`);
    expect(failure?.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('gives valid JSON under `npm start --silent -- --json`, and warns on stderr when npm puts its banner first', async () => {
    const args = ['--users', '2', '--events', '2', '--json'];
    const silent = await run('npm', ['start', '--silent', '--', ...args], { cwd: root });
    expect(JSON.parse(silent.stdout)).toMatchObject({ events: 4, ok: true });
    expect(silent.stderr).toBe('');
    const loud = await run('npm', ['start', '--', ...args], { cwd: root });
    expect(loud.stdout).toMatch(/^\s*> rx-barrier@/); // npm's banner: this is why the hint exists
    expect(loud.stderr).toContain('npm start --silent -- --json');
  });

  it('leaves quietly when the reader of stdout goes away (--json | head)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '2', '--events', '2', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader exits before the summary is written
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('exits 2 with a clear message on a bad flag', async () => {
    const failure = await run(process.execPath, ['--import', 'tsx', 'examples/webhook-delivery.ts', '--users', '-1'], { cwd: root }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stdout: string; stderr: string },
    );
    expect(failure).toBeDefined();
    expect(failure!.code).toBe(2);
    expect(failure!.stdout).toBe('');
    expect(failure!.stderr).toContain('webhook-delivery: --users must be an integer from 1 to 100000, got -1');
    expect(failure!.stderr).not.toContain('ambiguous');
    expect(failure!.stderr).toContain('--help');
  });
});
