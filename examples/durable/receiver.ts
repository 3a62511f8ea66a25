/**
 * The webhook endpoint of the durable run: examples/webhook/receiver.ts's
 * rules, for a sender that delivers at least once. When a worker dies with
 * a delivery in flight, the worker that takes its partition over sends that
 * attempt again, with the same attempt number (its outcome was never
 * committed). A receiver deduplicates by event id and answers a repeated
 * attempt as it answered it the first time; this one does, and checks that
 * every repeat is one a takeover explains: of the event's latest attempt,
 * before any later event of its user, and at most one per event and takeover.
 */
import { LoopbackServer } from '../webhook/loopback-server.js';
import { Rule, type DeliveryRequest, type ReceiverReport } from '../webhook/receiver.js';
import { predict, type EventScript, type Step } from '../webhook/scripts.js';

/** Options of {@link AtLeastOnceReceiver.start}. */
export interface AtLeastOnceReceiverOptions {
  /** The script of every event that may arrive, by event id. */
  scripts: ReadonlyMap<number, EventScript>;
  /** The client's attempt limit: it consumes at most this many answers of a script. */
  maxAttempts: number;
  /** How long a `'timeout'` answer is held, in ms: longer than the client's timeout. */
  holdMs: number;
}

/** What the receiver saw: the checks of the in-memory run, and the repeats. */
export interface AtLeastOnceReport extends ReceiverReport {
  /** Attempts received again (same event, same attempt number). */
  readonly repeats: number;
}

interface EventRecord {
  readonly script: EventScript;
  /** How many attempts the client will make (see `predict`). */
  readonly expected: number;
  /** Attempt numbers received. */
  readonly attemptsSeen: Set<number>;
  /** Times an attempt of this event arrived again. */
  repeats: number;
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
  /** The latest event that arrived (any answer). */
  lastArrivedId: number;
}

export class AtLeastOnceReceiver {
  private readonly events = new Map<number, EventRecord>();
  private readonly users = new Map<string, UserRecord>();
  private requests = 0;
  private accepted = 0;
  private repeats = 0;
  private final: AtLeastOnceReport | undefined;
  private readonly inOrder = new Rule('accepted events arrived in ascending id order, per user');
  private readonly afterFinal = new Rule('nothing was delivered after its final outcome');
  private readonly oneAtATime = new Rule('no event was delivered while an earlier event of its user was unfinished');
  private readonly consumed = new Rule('every script was consumed exactly, attempt by attempt');
  private readonly repeatRule = new Rule('every repeat is of its event\'s latest attempt, before any later event of its user, at most one per takeover');

  private http: LoopbackServer | undefined;

  private constructor(options: AtLeastOnceReceiverOptions) {
    for (const script of options.scripts.values()) {
      const expected = predict(script.steps, options.maxAttempts).attempts;
      this.events.set(script.id, { script, expected, attemptsSeen: new Set(), repeats: 0, finished: false });
      let user = this.users.get(script.userId);
      if (user === undefined) {
        user = { ids: [], firstUnfinished: 0, lastAcceptedId: 0, lastArrivedId: 0 };
        this.users.set(script.userId, user);
      }
      user.ids.push(script.id);
    }
    for (const user of this.users.values()) user.ids.sort((a, b) => a - b);
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(options: AtLeastOnceReceiverOptions): Promise<AtLeastOnceReceiver> {
    const receiver = new AtLeastOnceReceiver(options);
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

  /** Checks one arriving attempt and returns its answer: a repeat gets the answer its attempt number has. */
  private next({ userId, id, attempt }: DeliveryRequest): Step {
    this.requests++;
    const event = this.events.get(id);
    const user = this.users.get(userId);
    if (event === undefined || user === undefined || event.script.userId !== userId) {
      this.consumed.violated(`unknown event ${id} of ${userId}`);
      return 400;
    }
    if (!Number.isSafeInteger(attempt) || attempt < 1 || attempt > event.expected) {
      this.consumed.violated(`${userId} event ${id} arrived as attempt ${attempt}; its script allows ${event.expected}`);
      return 409;
    }
    const step = event.script.steps[attempt - 1]!;
    if (event.attemptsSeen.has(attempt)) {
      this.repeats++;
      event.repeats++;
      const latest = Math.max(...event.attemptsSeen);
      if (attempt !== latest) this.repeatRule.violated(`${userId} event ${id} attempt ${attempt} repeated after attempt ${latest}`);
      else if (user.lastArrivedId > id) this.repeatRule.violated(`${userId} event ${id} attempt ${attempt} repeated after event ${user.lastArrivedId} of its user`);
      return step;
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
    if (attempt !== event.attemptsSeen.size + 1) {
      this.consumed.violated(`${userId} event ${id} attempt ${attempt} arrived before attempt ${event.attemptsSeen.size + 1}`);
    }
    event.attemptsSeen.add(attempt);
    if (attempt === event.expected) event.finished = true;
    user.lastArrivedId = Math.max(user.lastArrivedId, id);
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

  /**
   * The verification; call it once delivery is complete, with the number of
   * takeovers there were (partitions taken from a worker that did not hand
   * them over). Later calls return the same report.
   */
  report(takeovers: number): AtLeastOnceReport {
    if (this.final !== undefined) return this.final;
    for (const [id, event] of this.events) {
      if (event.repeats > takeovers) {
        this.repeatRule.violated(`${event.script.userId} event ${id} was repeated ${event.repeats} time(s) in ${takeovers} takeover(s)`);
      }
      if (event.attemptsSeen.size !== event.expected) {
        this.consumed.violated(`${event.script.userId} event ${id} got ${event.attemptsSeen.size} of its ${event.expected} attempts`);
      }
    }
    const checks = [
      this.inOrder.check(`${this.accepted} accepted events over ${this.users.size} users`),
      this.afterFinal.check(`${this.requests} requests`),
      this.oneAtATime.check(`${this.users.size} users`),
      this.consumed.check(`${this.events.size} scripts`),
      this.repeatRule.check(`${this.repeats} repeat(s) in ${takeovers} takeover(s)`),
    ];
    this.final = { requests: this.requests, accepted: this.accepted, repeats: this.repeats, checks };
    return this.final;
  }

  /** Stops listening, ending held responses and open connections. */
  async close(): Promise<void> {
    await this.http?.close();
  }
}
