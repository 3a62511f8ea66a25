/**
 * The webhook endpoint: a real HTTP server on 127.0.0.1 that answers each
 * event's attempts by its script, and checks from its own side of the wire
 * that delivery was ordered, so the example does not grade its own homework.
 */
import { LoopbackServer } from './loopback-server.js';
import { predict, type EventScript, type Step } from './scripts.js';

/** Options of {@link Receiver.start}. */
export interface ReceiverOptions {
  /** The script of every event that may arrive, by event id. */
  scripts: ReadonlyMap<number, EventScript>;
  /** The client's attempt limit: it consumes at most this many answers of a script. */
  maxAttempts: number;
  /** How long a `'timeout'` answer is held, in ms: longer than the client's timeout. */
  holdMs: number;
}

/** The body the client POSTs for each attempt. */
export interface DeliveryRequest {
  userId: string;
  id: number;
  /** 1 for an event's first attempt. */
  attempt: number;
}

/** One verification: what was checked, whether it held, and the evidence. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** A count when it held; the first violations otherwise. */
  readonly detail: string;
}

/** What the receiver saw and verified. */
export interface ReceiverReport {
  /** Requests received, including stale ones of timed-out attempts. */
  readonly requests: number;
  /** Events accepted with a 2xx. */
  readonly accepted: number;
  readonly checks: readonly Check[];
}

interface EventRecord {
  readonly script: EventScript;
  /** How many attempts the client will make (see `predict`). */
  readonly expected: number;
  /** Attempt numbers received, so a repeated one is caught. */
  readonly attemptsSeen: Set<number>;
  /** Its last attempt has arrived: the event has its final answer. */
  finished: boolean;
}

interface UserRecord {
  /** The user's event ids, ascending. */
  readonly ids: number[];
  /** Index in `ids` of the first event not yet finished. */
  firstUnfinished: number;
  /** The last event accepted with a 2xx. */
  lastAcceptedId: number;
}

/** Collects the violations of one rule; keeps the first few messages for the report. */
export class Rule {
  violations = 0;
  private readonly examples: string[] = [];
  constructor(readonly name: string) {}

  violated(message: string): void {
    this.violations++;
    if (this.examples.length < 5) this.examples.push(message);
  }

  check(okDetail: string): Check {
    if (this.violations === 0) return { name: this.name, ok: true, detail: okDetail };
    const more = this.violations > this.examples.length ? `; and ${this.violations - this.examples.length} more` : '';
    return { name: this.name, ok: false, detail: `${this.violations} violation(s): ${this.examples.join('; ')}${more}` };
  }
}

export class Receiver {
  private readonly events = new Map<number, EventRecord>();
  private readonly users = new Map<string, UserRecord>();
  private requests = 0;
  private accepted = 0;
  private final: ReceiverReport | undefined;
  private readonly inOrder = new Rule('accepted events arrived in ascending id order, per user');
  private readonly afterFinal = new Rule('nothing was delivered after its final outcome');
  private readonly oneAtATime = new Rule('no event was delivered while an earlier event of its user was unfinished');
  private readonly consumed = new Rule('every script was consumed exactly, attempt by attempt');

  private http: LoopbackServer | undefined;

  private constructor(options: ReceiverOptions) {
    for (const script of options.scripts.values()) {
      const expected = predict(script.steps, options.maxAttempts).attempts;
      this.events.set(script.id, { script, expected, attemptsSeen: new Set(), finished: false });
      let user = this.users.get(script.userId);
      if (user === undefined) {
        user = { ids: [], firstUnfinished: 0, lastAcceptedId: 0 };
        this.users.set(script.userId, user);
      }
      user.ids.push(script.id);
    }
    for (const user of this.users.values()) user.ids.sort((a, b) => a - b);
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(options: ReceiverOptions): Promise<Receiver> {
    const receiver = new Receiver(options);
    receiver.http = await LoopbackServer.start(options.holdMs, (request) => {
      if (request !== undefined) return receiver.next(request);
      receiver.consumed.violated('a request with a body that is not JSON');
      return 400;
    });
    return receiver;
  }

  /** Where to POST events. */
  get url(): string {
    return this.http!.url;
  }

  /**
   * Checks one arriving attempt against the rules and returns its answer.
   * The answer is chosen by the attempt number the client sends, so a late
   * request cannot shift the script under the attempts after it.
   */
  private next({ userId, id, attempt }: DeliveryRequest): Step {
    this.requests++;
    const event = this.events.get(id);
    const user = this.users.get(userId);
    if (event === undefined || user === undefined || event.script.userId !== userId) {
      this.consumed.violated(`unknown event ${id} of ${userId}`);
      return 400;
    }
    // Every earlier event of the user must have had its final answer.
    while (user.firstUnfinished < user.ids.length && this.events.get(user.ids[user.firstUnfinished]!)!.finished) user.firstUnfinished++;
    const earliest = user.ids[user.firstUnfinished];
    if (earliest !== undefined && earliest < id) {
      const earlier = this.events.get(earliest)!;
      const seen = [...earlier.attemptsSeen].join(', ') || 'none';
      this.oneAtATime.violated(
        `${userId} event ${id} (attempt ${attempt}) arrived while event ${earliest} was unfinished (attempts received: ${seen} of ${earlier.expected})`,
      );
    }
    if (event.finished) {
      this.afterFinal.violated(`${userId} event ${id} attempt ${attempt} arrived after its final attempt (${event.expected})`);
      return 409;
    }
    if (!Number.isSafeInteger(attempt) || attempt < 1 || attempt > event.expected) {
      this.consumed.violated(`${userId} event ${id} arrived as attempt ${attempt}; its script allows ${event.expected}`);
      return 409;
    }
    if (event.attemptsSeen.has(attempt)) {
      this.consumed.violated(`${userId} event ${id} attempt ${attempt} arrived twice`);
    } else if (attempt !== event.attemptsSeen.size + 1) {
      this.consumed.violated(`${userId} event ${id} attempt ${attempt} arrived before attempt ${event.attemptsSeen.size + 1}`);
    }
    event.attemptsSeen.add(attempt);
    if (attempt === event.expected) event.finished = true;
    const step = event.script.steps[attempt - 1]!;
    if (typeof step === 'number' && step >= 200 && step < 300) {
      this.accepted++;
      if (id <= user.lastAcceptedId) {
        this.inOrder.violated(`${userId} accepted event ${id} after event ${user.lastAcceptedId}`);
      } else {
        user.lastAcceptedId = id;
      }
    }
    return step;
  }

  /** The verification; call it once delivery is complete (later calls return the same report). */
  report(): ReceiverReport {
    if (this.final !== undefined) return this.final;
    for (const [id, event] of this.events) {
      if (event.attemptsSeen.size !== event.expected) {
        this.consumed.violated(`${event.script.userId} event ${id} got ${event.attemptsSeen.size} of its ${event.expected} attempts`);
      }
    }
    const checks = [
      this.inOrder.check(`${this.accepted} accepted events over ${this.users.size} users`),
      this.afterFinal.check(`${this.requests} requests`),
      this.oneAtATime.check(`${this.users.size} users`),
      this.consumed.check(`${this.events.size} scripts`),
    ];
    this.final = { requests: this.requests, accepted: this.accepted, checks };
    return this.final;
  }

  /** Stops listening, ending held responses and open connections. */
  async close(): Promise<void> {
    await this.http?.close();
  }
}
