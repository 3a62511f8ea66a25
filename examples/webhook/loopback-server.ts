// The receivers' HTTP side, shared by both examples: a server on a free port
// of 127.0.0.1 that reads each POSTed JSON body and sends the answer the
// receiver picks for it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryRequest } from './receiver.js';
import type { Step } from './scripts.js';

/** Picks the answer to one request; `undefined` stands for a body that is not JSON. */
export type Answerer = (request: DeliveryRequest | undefined) => Step;

export class LoopbackServer {
  /** Responses held back for `'timeout'` answers, so closing can end them. */
  private readonly held = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    /** How long a `'timeout'` answer is held, in ms: longer than the client's timeout. */
    private readonly holdMs: number,
    /** Where to POST events. */
    readonly url: string,
  ) {}

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(holdMs: number, answerer: Answerer): Promise<LoopbackServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const loopback = new LoopbackServer(server, holdMs, `http://127.0.0.1:${port}/events`);
    server.on('request', (req, res) => loopback.receive(req, res, answerer));
    return loopback;
  }

  private receive(req: IncomingMessage, res: ServerResponse, answerer: Answerer): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let request: DeliveryRequest | undefined;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DeliveryRequest;
      } catch {
        request = undefined;
      }
      this.answer(res, answerer(request));
    });
  }

  private answer(res: ServerResponse, step: Step): void {
    if (step !== 'timeout') {
      res.writeHead(step).end();
      return;
    }
    // Hold the answer past the client's timeout; the client gives up first.
    this.held.add(res);
    const timer = setTimeout(() => {
      this.held.delete(res);
      if (!res.destroyed) res.writeHead(504).end();
    }, this.holdMs);
    res.on('close', () => {
      clearTimeout(timer);
      this.held.delete(res);
    });
  }

  /** Stops listening, ending held responses and open connections. */
  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
