/**
 * `npm start`: ordered webhook delivery to a local endpoint that fails the
 * way real endpoints fail, verified by the endpoint itself.
 *
 *   npm start -- --users 100 --events 20 --fail-rate 0.3 --seed 7
 *   npm start -- --json summary.json
 *   npm start -- --durable --workers 3 --kill-one   (through PostgreSQL: examples/durable/)
 *
 * The parts live in examples/webhook/: scripts.ts (the workload), receiver.ts
 * (the HTTP endpoint and its checks), run.ts (the pipeline), metrics.ts and
 * report.ts (the summary). docs/example.md walks through them.
 */
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DURABLE_DEFAULTS, validateDurableOptions, type DurableOptions } from './durable/options.js';
import { formatSummary } from './webhook/report.js';
import { MIN_TIMEOUT_MS, runWebhookDelivery, validateOptions, WEBHOOK_DEFAULTS, type WebhookDeliveryOptions } from './webhook/run.js';

export { MIN_TIMEOUT_MS, runWebhookDelivery, validateOptions, WEBHOOK_DEFAULTS } from './webhook/run.js';
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
  --timeout MS          client timeout per request, at least ${MIN_TIMEOUT_MS}; timeout answers are held twice as long (default ${d.timeoutMs})
  --high-water-mark N   jobs the store may hold before pull pauses (default ${d.highWaterMark})
  --json [FILE]         write the summary as JSON to FILE (the table still goes to stdout),
                        or to stdout instead of the table when FILE is left out or is -
  --durable             deliver through PostgreSQL (DATABASE_URL, else an embedded server) with worker processes
  --workers N           with --durable: worker processes (default ${DURABLE_DEFAULTS.workers})
  --kill-one            with --durable: kill one worker with SIGKILL a third of the way through
  -h, --help            show this help

Under npm, JSON on stdout needs npm's --silent, or npm's own banner comes first:
  npm start --silent -- --json > summary.json    or    npm start -- --json summary.json

Exit codes: 0 all checks passed, 1 a check failed or delivery errored, 2 bad flags.`;

/** What the command line asks for. `jsonFile`: where `--json` writes, `'-'` for stdout. */
export type Command = { help: true } | { help: false; json: boolean; jsonFile: string | undefined; options: WebhookDeliveryOptions; durable?: DurableOptions };

/** Parses and validates the flags; throws a UsageError with a message naming the flag. */
export function parseCommandLine(args: readonly string[]): Command {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: normalizeArgs(args),
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
        json: { type: 'string' },
        durable: { type: 'boolean', default: false },
        workers: { type: 'string' },
        'kill-one': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if (values.help === true) return { help: true };
  const problems: string[] = [];
  // Digits only: Number() would also take '1e3', '0x10', ' 7' or '', which
  // a person typing a count almost certainly did not mean.
  const number = (flag: string, fallback: number): number => {
    const text = values[flag];
    if (typeof text !== 'string') return fallback;
    const integer = flag !== 'fail-rate';
    if (!(integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)$/).test(text)) {
      problems.push(`--${flag} must be ${integer ? 'a whole number written in digits' : 'a decimal number such as 0.25'}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return Number(text);
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
  const jsonFile = typeof values.json === 'string' ? values.json : undefined;
  if (jsonFile === '') problems.push('--json= needs a file name, or no value at all for stdout');
  let durable: DurableOptions | undefined;
  if (values.durable === true) {
    durable = { ...DURABLE_DEFAULTS, workers: number('workers', DURABLE_DEFAULTS.workers), killOne: values['kill-one'] === true };
    problems.push(...validateDurableOptions(durable));
  } else if (values.workers !== undefined || values['kill-one'] === true) {
    problems.push('--workers and --kill-one need --durable');
  }
  if (problems.length === 0) problems.push(...validateOptions(options));
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { help: false, json: jsonFile !== undefined, jsonFile, options, ...(durable === undefined ? {} : { durable }) };
}

/**
 * Rewrites what parseArgs cannot read as meant: a flag followed by a negative
 * number (`--users -1`, which parseArgs calls ambiguous) becomes `--users=-1`,
 * so it reaches the range check and gets its message; `--json` takes an
 * optional file (`--json out.json`, `--json -`), and alone means stdout.
 */
function normalizeArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (arg === '--json') {
      const hasFile = next !== undefined && (next === '-' || !next.startsWith('-'));
      out.push(`--json=${hasFile ? next : '-'}`);
      if (hasFile) i++;
    } else if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** parseArgs' errors in the example's words, naming the flag. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const flag = /'(?:-\w, )?(--?[\w-]+)/.exec(message)?.[1] ?? ''; // "Option '-h, --help' …" names --help
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return message.includes('does not take an argument') ? `${flag} takes no value` : `${flag} needs a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'(.*)'/.exec(message)?.[1] ?? message}: every value follows its flag`;
  return message;
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
    const log = process.stderr.isTTY && command.jsonFile !== '-' ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
    const summary = await runDurableWebhookDelivery(command.options, command.durable, log);
    const json = `${JSON.stringify(summary, null, 2)}\n`;
    if (command.jsonFile !== undefined && command.jsonFile !== '-') await writeFile(command.jsonFile, json);
    process.stdout.write(command.jsonFile === '-' ? json : `${formatDurableSummary(summary)}\n`);
    return summary.ok ? 0 : 1;
  }
  // A live bar only for a person watching: not into a pipe or a file, not with --json.
  const bar =
    process.stdout.isTTY && command.jsonFile !== '-'
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
  if (command.jsonFile === '-' && npmBannerOnStdout()) {
    process.stderr.write('webhook-delivery: npm printed its banner on stdout before the JSON; run `npm start --silent -- --json` or `npm start -- --json FILE`\n');
  }
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
  const json = `${JSON.stringify(summary, null, 2)}\n`;
  process.stdout.write(command.jsonFile === '-' ? json : `${formatSummary(summary)}\n`);
  if (command.jsonFile !== undefined && command.jsonFile !== '-') {
    try {
      await writeFile(command.jsonFile, json);
    } catch (error) {
      process.stderr.write(`webhook-delivery: cannot write the JSON summary to ${command.jsonFile}: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  return summary.ok ? 0 : 1;
}

/**
 * Whether `npm start` ran this script and wrote its `> rx-barrier@… start` banner to
 * our stdout (it does unless told `--silent`, which it passes on as the
 * loglevel), where it would precede the JSON.
 */
function npmBannerOnStdout(): boolean {
  return process.env['npm_lifecycle_event'] === 'start' && process.env['npm_config_loglevel'] !== 'silent';
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
  // A reader that stops early (`--json | head`) closes the pipe: leave
  // quietly, as a command in a pipeline should, instead of dying on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
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
