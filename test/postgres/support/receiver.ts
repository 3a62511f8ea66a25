import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One delivery as the receiver saw it arrive. */
export interface Received {
  id: number;
  key: string;
  attempt: number;
  partition: number;
  worker: string;
  at: number;
}

/** What the receiver answers for one attempt of a job: an outcome, after a delay. */
export interface Scripted {
  outcome: 'succeeded' | 'failed' | 'aborted' | 'filtered';
  delay?: number;
}

/** A webhook receiver on 127.0.0.1 that logs every delivery in arrival order and answers as scripted. */
export interface Receiver {
  readonly url: string;
  readonly log: Received[];
  close(): Promise<void>;
}

export async function startReceiver(script: (id: number, attempt: number) => Scripted): Promise<Receiver> {
  const log: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const delivery = JSON.parse(body) as Omit<Received, 'at'>;
      log.push({ ...delivery, at: Date.now() });
      const { outcome, delay = 0 } = script(delivery.id, delivery.attempt);
      const answer = () => {
        if (response.destroyed) return;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ outcome }));
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/deliver`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The receiver's log per key, checked as the spec demands: ids ascend, with
 * only repeats allowed, and a repeat never follows a later job of its key
 * (so each key's sequence of ids never decreases). Returns the violations.
 */
export function orderViolations(log: readonly Received[]): string[] {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const entry of log) {
    const previous = last.get(entry.key);
    if (previous !== undefined && entry.id < previous) {
      violations.push(`key ${entry.key}: job ${entry.id} (attempt ${entry.attempt}, ${entry.worker}) after job ${previous}`);
    }
    last.set(entry.key, Math.max(previous ?? entry.id, entry.id));
  }
  return violations;
}
