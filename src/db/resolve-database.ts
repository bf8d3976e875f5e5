import { relative } from 'node:path';
import mysql from 'mysql2/promise';
import type { Config, DatabaseConfig } from '../config/config.js';
import { MariadbNotInstalledError } from './embedded/binaries.js';
import { type EmbeddedServer, useEmbeddedServer } from './embedded/embedded-server.js';
import { EmbeddedServerError } from './embedded/errors.js';
import type { EmbeddedPaths } from './embedded/paths.js';
import { connectionOptions } from './pool.js';

/** The database a process works with, and how to let go of it when the process ends. */
export interface ResolvedDatabase {
  readonly db: DatabaseConfig;
  /** The checkout's embedded MariaDB, when that is what this process uses. */
  readonly embedded?: EmbeddedServer;
  /** One line for the person who started the process, when it uses the embedded MariaDB. */
  readonly notice?: string;
  /**
   * Leaves the embedded MariaDB, which stops when the last process of the checkout leaves;
   * returns one line saying so. Nothing to do, and undefined, for any other database.
   */
  release(): Promise<string | undefined>;
}

/** No database to work with: the message says what to do. */
export class DatabaseChoiceError extends Error {
  override name = 'DatabaseChoiceError';
}

export type DatabaseChoice = Pick<Config, 'db' | 'dbConfigured' | 'dbEmbedded' | 'production'>;

export interface ResolveOptions {
  /** Where the embedded MariaDB lives: .data/ of this checkout by default. */
  readonly paths?: EmbeddedPaths;
  /** For PATH, where mariadbd is looked for. */
  readonly env?: Record<string, string | undefined>;
  /** Told when the embedded MariaDB goes away under this process, or it waits for another. */
  readonly log?: (line: string) => void;
}

/** Errors of a connection attempt that mean nobody listens there. */
const NOTHING_THERE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/** ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR. */
const ACCESS_DENIED = new Set([1045, 1698]);

/** What answers at the default address: a server, nothing, or a server that refuses root. */
async function probe(db: DatabaseConfig): Promise<'answers' | 'nothing' | { denied: string }> {
  try {
    const connection = await mysql.createConnection({
      ...connectionOptions(db, false),
      connectTimeout: 3000,
    });
    await connection.end();
    return 'answers';
  } catch (error) {
    const { code, errno, message } = error as { code?: string; errno?: number; message: string };
    if (code !== undefined && NOTHING_THERE.has(code)) return 'nothing';
    if (errno !== undefined && ACCESS_DENIED.has(errno)) return { denied: message };
    // Something else went wrong with a server that is there: the caller's own connection says it.
    return 'answers';
  }
}

const plain = (db: DatabaseConfig): ResolvedDatabase => ({ db, release: async () => undefined });

/**
 * Decides which database a process uses, the one place that does (npm start, npm run demo,
 * npm run db:migrate, npm run feed, npm test):
 *
 * - a database the environment or a configuration file names (config.dbConfigured): that one,
 *   reachable or not, never replaced;
 * - DB_EMBEDDED=1: the checkout's embedded MariaDB under .data/, started if need be;
 * - nothing configured: the MariaDB at 127.0.0.1:3306 when one answers there, else the embedded
 *   one, unless DB_EMBEDDED=0 or production mode (NODE_ENV=production) rules it out.
 *
 * A script that reads a configuration file passes `{ ...config, db: fromFile, dbConfigured:
 * true }`. Call release() when the process ends (it waits for the server to stop when this was
 * the last process using it); a process that dies without it is counted out all the same.
 */
export async function resolveDatabase(
  config: DatabaseChoice,
  options: ResolveOptions = {},
): Promise<ResolvedDatabase> {
  if (config.dbConfigured) return plain(config.db);
  const where = `${config.db.host}:${config.db.port}`;
  if (config.dbEmbedded === 'always') return embedded(config, 'DB_EMBEDDED=1', options);
  const found = await probe(config.db);
  if (found === 'answers') return plain(config.db);
  const embeddedAllowed = config.dbEmbedded === 'auto' && !config.production;
  if (found !== 'nothing') {
    throw new DatabaseChoiceError(
      `The MariaDB at ${where} refuses ${config.db.user} without a password (${found.denied}). ` +
        'Give belair a user of that server with DB_USERNAME and DB_PASSWORD (or DATABASE_URL)' +
        (config.production
          ? '.'
          : ', or set DB_EMBEDDED=1 to use a private MariaDB under .data/ instead.'),
    );
  }
  if (!embeddedAllowed) {
    throw new DatabaseChoiceError(
      `No database is configured and nothing answers at ${where}; ` +
        (config.production
          ? 'in production mode (NODE_ENV=production) belair starts no MariaDB of its own unless DB_EMBEDDED=1. '
          : 'DB_EMBEDDED=0 rules out the embedded MariaDB. ') +
        'Start MariaDB there (docker compose up -d db), or point belair at one with DB_HOSTNAME, DB_PORT, DB_USERNAME and DB_PASSWORD (or DATABASE_URL).',
    );
  }
  return embedded(config, `No database configured and nothing at ${where}`, options);
}

async function embedded(
  config: DatabaseChoice,
  why: string,
  options: ResolveOptions,
): Promise<ResolvedDatabase> {
  let server: EmbeddedServer;
  try {
    server = await useEmbeddedServer({
      ...(options.paths ? { paths: options.paths } : {}),
      ...(options.env ? { env: options.env } : {}),
      why,
      ...(options.log ? { log: options.log, onLost: options.log } : {}),
    });
  } catch (error) {
    if (error instanceof MariadbNotInstalledError || error instanceof EmbeddedServerError) {
      throw new DatabaseChoiceError(error.message, { cause: error });
    }
    throw error;
  }
  const data = relative(process.cwd(), server.paths.dataDir) || server.paths.dataDir;
  const others = server.others;
  const version = /^\d+\.\d+\.\d+/.exec(server.version)?.[0] ?? server.version;
  const notice =
    `${why}: ${server.started ? 'started' : 'using'} the embedded MariaDB ${version} on 127.0.0.1:${server.port} ` +
    `(data in ${data}${server.initialised ? ', new' : ''}` +
    `${others > 0 ? `, shared with ${others} other process${others === 1 ? '' : 'es'}` : ''}; it stops when the last belair process using it exits)`;
  return {
    db: {
      host: '127.0.0.1',
      port: server.port,
      user: 'root',
      password: '',
      database: config.db.database,
    },
    embedded: server,
    notice,
    async release() {
      const { outcome, remaining } = await server.release();
      if (outcome === 'stopped') return 'embedded MariaDB stopped';
      if (outcome === 'left') {
        return `embedded MariaDB left running for ${remaining} other process${remaining === 1 ? '' : 'es'}`;
      }
      return undefined;
    },
  };
}
