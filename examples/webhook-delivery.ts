/**
 * `npm start`: ordered webhook delivery to a local endpoint that fails the
 * way real endpoints fail, verified by the endpoint itself.
 *
 *   npm start -- --users 100 --events 20 --fail-rate 0.3 --seed 7
 *   npm start -- --json
 *   npm start -- --durable --workers 3 --kill-one   (through PostgreSQL: examples/durable/)
 *
 * The parts live in examples/webhook/: scripts.ts (the workload), receiver.ts
 * (the HTTP endpoint and its checks), run.ts (the pipeline), metrics.ts and
 * report.ts (the summary). docs/example.md walks through them.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DURABLE_DEFAULTS, validateDurableOptions, type DurableOptions } from './durable/options.js';
import { formatSummary } from './webhook/report.js';
import { runWebhookDelivery, validateOptions, WEBHOOK_DEFAULTS, type WebhookDeliveryOptions } from './webhook/run.js';

export { runWebhookDelivery, validateOptions, WEBHOOK_DEFAULTS } from './webhook/run.js';
export type { Summary, WebhookDeliveryOptions } from './webhook/run.js';
export type { Progress } from './webhook/metrics.js';

const d = WEBHOOK_DEFAULTS;
const USAGE = `Usage: npm start -- [options]    (or: npx tsx examples/webhook-delivery.ts [options])

Delivers users × events webhook events, in order per user, to a local HTTP
receiver that answers each attempt by a seeded script: 200 → succeeded,
204 → filtered, 400 → aborted, 500/503/429/timeout → retried. The receiver
verifies the order it saw; the exit code is 1 if any check fails.

Options:
  --users N             users, the ordering keys (default ${d.users})
  --events N            events per user (default ${d.events})
  --concurrency N       requests in flight over all users, one per user at most (default ${d.concurrency})
  --fail-rate R         probability in [0, 1] that an attempt gets a retryable answer (default ${d.failRate})
  --seed N              seed of the workload, an integer in [0, 2^32) (default ${d.seed})
  --max-attempts N      the Nth failed attempt aborts the event (default ${d.maxAttempts})
  --timeout MS          client timeout per request; timeout answers are held twice as long (default ${d.timeoutMs})
  --high-water-mark N   jobs the store may hold before pull pauses (default ${d.highWaterMark})
  --json                print the summary as JSON on stdout, no progress display
  --durable             deliver through PostgreSQL (DATABASE_URL, else an embedded server) with worker processes
  --workers N           with --durable: worker processes (default ${DURABLE_DEFAULTS.workers})
  --kill-one            with --durable: kill one worker with SIGKILL a third of the way through
  -h, --help            show this help

Exit codes: 0 all checks passed, 1 a check failed or delivery errored, 2 bad flags.`;

/** What the command line asks for. */
export type Command = { help: true } | { help: false; json: boolean; options: WebhookDeliveryOptions; durable?: DurableOptions };

/** Parses and validates the flags; throws a UsageError with a message naming the flag. */
export function parseCommandLine(args: readonly string[]): Command {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        users: { type: 'string' },
        events: { type: 'string' },
        concurrency: { type: 'string' },
        'fail-rate': { type: 'string' },
        seed: { type: 'string' },
        'max-attempts': { type: 'string' },
        timeout: { type: 'string' },
        'high-water-mark': { type: 'string' },
        json: { type: 'boolean', default: false },
        durable: { type: 'boolean', default: false },
        workers: { type: 'string' },
        'kill-one': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return { help: true };
  const problems: string[] = [];
  const number = (flag: string, fallback: number): number => {
    const text = values[flag];
    if (typeof text !== 'string') return fallback;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      problems.push(`--${flag} must be a number, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return value;
  };
  const timeoutMs = number('timeout', d.timeoutMs);
  const options: WebhookDeliveryOptions = {
    users: number('users', d.users),
    events: number('events', d.events),
    concurrency: number('concurrency', d.concurrency),
    failRate: number('fail-rate', d.failRate),
    seed: number('seed', d.seed),
    maxAttempts: number('max-attempts', d.maxAttempts),
    timeoutMs,
    holdMs: timeoutMs * 2,
    highWaterMark: number('high-water-mark', d.highWaterMark),
  };
  let durable: DurableOptions | undefined;
  if (values.durable === true) {
    durable = { ...DURABLE_DEFAULTS, workers: number('workers', DURABLE_DEFAULTS.workers), killOne: values['kill-one'] === true };
    problems.push(...validateDurableOptions(durable));
  } else if (values.workers !== undefined || values['kill-one'] === true) {
    problems.push('--workers and --kill-one need --durable');
  }
  if (problems.length === 0) problems.push(...validateOptions(options));
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { help: false, json: values.json === true, options, ...(durable === undefined ? {} : { durable }) };
}

/** A bad command line: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs the command line; resolves to the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`webhook-delivery: ${error.message.replaceAll('\n', '\nwebhook-delivery: ')}\nRun with --help for the options.\n`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.durable !== undefined) {
    // Loaded here: the in-memory run needs neither pg nor the worker processes.
    const { runDurableWebhookDelivery } = await import('./durable/run.js');
    const { formatDurableSummary } = await import('./durable/report.js');
    const log = process.stderr.isTTY && !command.json ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
    const summary = await runDurableWebhookDelivery(command.options, command.durable, log);
    process.stdout.write(command.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatDurableSummary(summary)}\n`);
    return summary.ok ? 0 : 1;
  }
  // A live bar only for a person watching: not into a pipe or a file, not with --json.
  const bar =
    process.stdout.isTTY && !command.json
      ? new cliProgress.SingleBar(
          {
            format: 'delivering {bar} {value}/{total} events | {succeeded} ok, {aborted} aborted, {filtered} filtered | {retries} retries | {inStore} in store | {duration_formatted}',
            stream: process.stdout,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const total = command.options.users * command.options.events;
  // Ctrl-C: give the terminal its cursor back before leaving.
  const interrupted = (): void => {
    bar?.stop();
    process.exit(130);
  };
  if (bar !== undefined) {
    bar.start(total, 0, { succeeded: 0, aborted: 0, filtered: 0, retries: 0, inStore: 0 });
    process.once('SIGINT', interrupted);
  }
  let summary;
  try {
    summary = await runWebhookDelivery(command.options, (progress) => bar?.update(progress.done, progress));
  } finally {
    bar?.stop();
    process.off('SIGINT', interrupted);
  }
  process.stdout.write(command.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
  return summary.ok ? 0 : 1;
}

/** Whether this file is the program being run (not imported by a test). */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`webhook-delivery: delivery failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
