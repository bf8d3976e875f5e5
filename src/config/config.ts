import { z } from 'zod';
import { REFRESH_COST, writeCostOfBatch } from './write-cost.js';

/**
 * The service's configuration, read from the environment once by the entry points and handed to
 * everything else as an argument. Every problem is reported at once.
 */
export interface DatabaseConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** DB_EMBEDDED: unset, automatic; 1, always; 0, never (see src/db/resolve-database.ts). */
export type EmbeddedMode = 'auto' | 'always' | 'never';

export interface Config {
  /** The primary: every write, refresh, retention and migration. */
  readonly db: DatabaseConfig;
  /** Whether the environment says where the server is (DATABASE_URL, DB_HOSTNAME, DB_PORT, ...). */
  readonly dbConfigured: boolean;
  /** Whether a private MariaDB under .data/ may stand in for an unconfigured one (DB_EMBEDDED). */
  readonly dbEmbedded: EmbeddedMode;
  /** The API applies new sql/ files at start (MIGRATE_ON_START; default: not in production). */
  readonly migrateOnStart: boolean;
  /**
   * A replica of the primary that serves reads (polls, queries, history) while it keeps up
   * (docs/scaling.md); null: the primary serves everything. Its database is the primary's.
   */
  readonly replica: DatabaseConfig | null;
  /** Reads leave the replica when it lags more than this (DB_REPLICA_MAX_LAG_SECONDS). */
  readonly replicaMaxLagSeconds: number;
  /** How often the replica's replication status is read (DB_REPLICA_CHECK_INTERVAL_MS). */
  readonly replicaCheckIntervalMs: number;
  /** API processes npm start runs on one machine, sharing the port (WORKERS). */
  readonly workers: number;
  /** Connections in the API's mysql2 pool. */
  readonly dbPoolSize: number;
  /** How long a statement waits for a pooled connection before DATABASE_UNAVAILABLE (ms). */
  readonly dbAcquireTimeoutMs: number;
  /** innodb_lock_wait_timeout of the API's connections, in seconds. */
  readonly dbLockWaitTimeoutSeconds: number;
  readonly port: number;
  /** Bearer tokens that may write (ingestMeasurements, refreshAirQuality). Empty: nobody may. */
  readonly apiTokens: readonly string[];
  readonly pollIntervalMs: number;
  readonly ingestMaxBatch: number;
  /** Largest request body accepted, in bytes; larger ones get 413. Leaves room for a full batch. */
  readonly maxBodyBytes: number;
  /**
   * Largest body of a request without a valid token (MAX_ANONYMOUS_BODY_BYTES): room for any query,
   * none for a batch. Past it the request is refused before the rest is read.
   */
  readonly maxAnonymousBodyBytes: number;
  readonly maxConnections: number;
  /** Operations one graphql-ws connection may run at once (MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  readonly maxSubscriptionsPerConnection: number;
  /** /readyz fails when the current run is older than this (seconds). */
  readonly readyMaxRunAgeSeconds: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** NODE_ENV=production: GraphiQL and introspection off unless asked for, API_TOKENS required. */
  readonly production: boolean;
  /** GraphiQL served to browsers at the GraphQL path (GRAPHIQL; default: not in production). */
  readonly graphiql: boolean;
  /** __schema and __type answered (INTROSPECTION; default: not in production). */
  readonly introspection: boolean;
  /** Most aliases in one operation (MAX_ALIASES); see src/plugins/use-operation-limits.ts. */
  readonly maxAliases: number;
  /** Most lexical tokens in one document (MAX_TOKENS). */
  readonly maxTokens: number;
  /** Most directives in one operation (MAX_DIRECTIVES). */
  readonly maxDirectives: number;
  /**
   * Measurements per second each token may write, across every process of the service (the budget
   * is kept on the primary); 0: no limit (WRITE_RATE_LIMIT).
   */
  readonly writeRateLimit: number;
  /** Measurements a token may write at once before the rate applies (WRITE_RATE_BURST). */
  readonly writeRateBurst: number;
}

const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

/**
 * The shortest token production mode accepts: 32 characters of `openssl rand -hex 16` hold 128
 * bits, beyond any guessing over the network; a word such as dev-token is one dictionary away.
 */
export const MIN_PRODUCTION_TOKEN_LENGTH = 32;

/**
 * The variables that say where the server is. DB_DATABASE is not one of them: it names the
 * database on whichever server is used, the embedded one included.
 */
export const SERVER_VARIABLES = [
  'DATABASE_URL',
  'DB_HOSTNAME',
  'DB_PORT',
  'DB_USERNAME',
  'DB_PASSWORD',
] as const;

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** true/false (also 1/0, yes/no), any case. */
const flag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'))
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const databaseUrl = z
  .string()
  .trim()
  .optional()
  .refine(
    (value) => value === undefined || value === '' || /^(mysql|mariadb):\/\//.test(value),
    'must look like mysql://user:password@host:3306/database',
  );

const environment = z.object({
  DATABASE_URL: databaseUrl,
  DB_HOSTNAME: z.string().trim().min(1).default('127.0.0.1'),
  DB_PORT: wholeNumber(1, 65535).default(3306),
  DB_USERNAME: z.string().min(1).default('root'),
  DB_PASSWORD: z.string().default(''),
  DB_DATABASE: z
    .string()
    .trim()
    .regex(DATABASE_NAME, 'must be 1-64 letters, digits, _ or $')
    .default('openaq'),
  // The replica: user and password default to the primary's, the database is the primary's.
  DATABASE_REPLICA_URL: databaseUrl,
  DB_REPLICA_HOSTNAME: z.string().trim().min(1).optional(),
  DB_REPLICA_PORT: wholeNumber(1, 65535).optional(),
  DB_REPLICA_USERNAME: z.string().min(1).optional(),
  DB_REPLICA_PASSWORD: z.string().optional(),
  DB_REPLICA_MAX_LAG_SECONDS: wholeNumber(1, 86_400).default(30),
  DB_REPLICA_CHECK_INTERVAL_MS: wholeNumber(100, 600_000).default(1000),
  WORKERS: wholeNumber(1, 256).default(1),
  DB_POOL_SIZE: wholeNumber(1, 1000).default(10),
  DB_ACQUIRE_TIMEOUT_MS: wholeNumber(1, 600_000).default(5000),
  // InnoDB's own default is 50 s; a batch retried 4 times after lock wait timeouts would keep its
  // client waiting minutes behind a writer that holds its rows.
  DB_LOCK_WAIT_TIMEOUT_SECONDS: wholeNumber(1, 3600).default(10),
  PORT: wholeNumber(0, 65535).default(4000),
  API_TOKENS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== ''),
    ),
  POLL_INTERVAL_MS: wholeNumber(50, 3_600_000).default(1000),
  INGEST_MAX_BATCH: wholeNumber(1, 100_000).default(10_000),
  // A typical measurement is ~250 bytes of JSON, so 8 MiB holds a 10,000-item batch with room for
  // long names and pretty-printing.
  MAX_BODY_BYTES: wholeNumber(1024, 1_073_741_824).default(8 * 1024 * 1024),
  // The largest operation of GraphiQL's examples is a few hundred bytes, and MAX_TOKENS bounds a
  // document to some tens of kB; what a client without a token may make the server read.
  MAX_ANONYMOUS_BODY_BYTES: wholeNumber(1024, 1_073_741_824).default(64 * 1024),
  MAX_CONNECTIONS: wholeNumber(1, 1_000_000).default(20_000),
  // A dashboard subscribes to a few cities and the runs; a hundred leaves room for any page, and
  // keeps one socket from holding thousands of subscriptions (each one executed per event).
  MAX_SUBSCRIPTIONS_PER_CONNECTION: wholeNumber(1, 100_000).default(100),
  READY_MAX_RUN_AGE_SECONDS: wholeNumber(1, 31_536_000).default(900),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  NODE_ENV: z.string().trim().default('development'),
  GRAPHIQL: flag.optional(),
  INTROSPECTION: flag.optional(),
  // The largest legitimate operation asks for a few dozen cities side by side (Belgium's data has
  // about 20 cities and regions, each aliased once); more aliases only multiply work.
  MAX_ALIASES: wholeNumber(1, 100_000).default(30),
  // The largest operation of GraphiQL's examples is 107 tokens; an item written inline in a batch
  // is about 35 (batches of more than ~250 items go in variables, which are not tokens). Parsing
  // 10,000 tokens takes a few ms; an 8 MiB body of tokens took 8 s before this limit.
  MAX_TOKENS: wholeNumber(100, 10_000_000).default(10_000),
  // Our operations use @include/@skip a handful of times at most.
  MAX_DIRECTIVES: wholeNumber(1, 100_000).default(50),
  WRITE_RATE_LIMIT: wholeNumber(0, 100_000_000).default(10_000),
  WRITE_RATE_BURST: wholeNumber(1, 1_000_000_000).default(100_000),
  DB_EMBEDDED: flag.optional(),
  MIGRATE_ON_START: flag.optional(),
});

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses a mysql:// or mariadb:// URL into database settings, or throws ConfigError naming the
 * variable it came from.
 */
function parseDatabaseUrl(url: string, variable = 'DATABASE_URL'): DatabaseConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([
      `${variable}: is not a valid URL; it must look like mysql://user:password@host:3306/database`,
    ]);
  }
  const problems: string[] = [];
  const port = parsed.port === '' ? 3306 : Number(parsed.port);
  if (port < 1) problems.push(`${variable}: port ${parsed.port} is not a port number`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'openaq';
  if (!DATABASE_NAME.test(database)) {
    problems.push(`${variable}: database name "${database}" must be 1-64 letters, digits, _ or $`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: parsed.hostname || '127.0.0.1',
    port,
    user: decodeURIComponent(parsed.username) || 'root',
    password: decodeURIComponent(parsed.password),
    database,
  };
}

/**
 * Reads the configuration from an environment (process.env by default), or throws ConfigError.
 * `server`: for the API itself (npm start), which in production mode needs API_TOKENS; scripts
 * that never serve writes (db:migrate, ingest, generate-test-data) do not.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { readonly server?: boolean } = {},
): Config {
  // Empty variables count as unset, as in most shells' `VAR= command`.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = environment.safeParse(present);
  const problems = result.success
    ? []
    : result.error.issues.map(
        (issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`,
      );
  // DATABASE_URL's own problems are reported together with the others.
  let urlDb: DatabaseConfig | undefined;
  const url = present.DATABASE_URL?.trim();
  if (url && !problems.some((p) => p.startsWith('DATABASE_URL:'))) {
    try {
      urlDb = parseDatabaseUrl(url);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  problems.push(
    ...crossProblems(present, result.success ? result.data : undefined, options.server ?? false),
  );
  const db =
    urlDb ??
    (result.success
      ? {
          host: result.data.DB_HOSTNAME,
          port: result.data.DB_PORT,
          user: result.data.DB_USERNAME,
          password: result.data.DB_PASSWORD,
          database: result.data.DB_DATABASE,
        }
      : undefined);
  const replica = db && result.success ? replicaOf(present, result.data, db, problems) : null;
  if (!result.success || problems.length > 0 || !db) throw new ConfigError(problems);
  const e = result.data;
  return Object.freeze({
    db: Object.freeze(db),
    dbConfigured: SERVER_VARIABLES.some((name) => present[name] !== undefined),
    dbEmbedded: e.DB_EMBEDDED === undefined ? 'auto' : e.DB_EMBEDDED ? 'always' : 'never',
    migrateOnStart: e.MIGRATE_ON_START ?? e.NODE_ENV !== 'production',
    replica: replica && Object.freeze(replica),
    replicaMaxLagSeconds: e.DB_REPLICA_MAX_LAG_SECONDS,
    replicaCheckIntervalMs: e.DB_REPLICA_CHECK_INTERVAL_MS,
    workers: e.WORKERS,
    dbPoolSize: e.DB_POOL_SIZE,
    dbAcquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
    dbLockWaitTimeoutSeconds: e.DB_LOCK_WAIT_TIMEOUT_SECONDS,
    port: e.PORT,
    apiTokens: Object.freeze(e.API_TOKENS),
    pollIntervalMs: e.POLL_INTERVAL_MS,
    ingestMaxBatch: e.INGEST_MAX_BATCH,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxAnonymousBodyBytes: e.MAX_ANONYMOUS_BODY_BYTES,
    maxConnections: e.MAX_CONNECTIONS,
    maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    readyMaxRunAgeSeconds: e.READY_MAX_RUN_AGE_SECONDS,
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    introspection: e.INTROSPECTION ?? e.NODE_ENV !== 'production',
    maxAliases: e.MAX_ALIASES,
    maxTokens: e.MAX_TOKENS,
    maxDirectives: e.MAX_DIRECTIVES,
    writeRateLimit: e.WRITE_RATE_LIMIT,
    writeRateBurst: e.WRITE_RATE_BURST,
  });
}

/**
 * The replica from DATABASE_REPLICA_URL (which wins, as DATABASE_URL does) or DB_REPLICA_*, null
 * when neither names one; its problems are added to `problems`. User and password default to the
 * primary's; the database is the primary's, and a URL may only name that one.
 */
function replicaOf(
  present: Record<string, string | undefined>,
  e: z.infer<typeof environment>,
  primary: DatabaseConfig,
  problems: string[],
): DatabaseConfig | null {
  const url = present.DATABASE_REPLICA_URL?.trim();
  let replica: DatabaseConfig | null = null;
  if (url) {
    if (problems.some((p) => p.startsWith('DATABASE_REPLICA_URL:'))) return null;
    try {
      const parsed = parseDatabaseUrl(url, 'DATABASE_REPLICA_URL');
      const named = new URL(url).pathname.replace(/^\//, '');
      if (named !== '' && parsed.database !== primary.database) {
        problems.push(
          `DATABASE_REPLICA_URL: names database "${parsed.database}", but a replica serves the primary's database "${primary.database}": leave the path out`,
        );
        return null;
      }
      const { username, password } = new URL(url);
      replica = {
        host: parsed.host,
        port: parsed.port,
        user: username === '' ? primary.user : parsed.user,
        password: username === '' && password === '' ? primary.password : parsed.password,
        database: primary.database,
      };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return null;
    }
  } else if (e.DB_REPLICA_HOSTNAME !== undefined) {
    replica = {
      host: e.DB_REPLICA_HOSTNAME,
      port: e.DB_REPLICA_PORT ?? 3306,
      user: e.DB_REPLICA_USERNAME ?? primary.user,
      password: e.DB_REPLICA_PASSWORD ?? primary.password,
      database: primary.database,
    };
  } else {
    const stray = (
      ['DB_REPLICA_PORT', 'DB_REPLICA_USERNAME', 'DB_REPLICA_PASSWORD'] as const
    ).filter((name) => present[name] !== undefined);
    for (const name of stray) {
      problems.push(
        `${name}: is set, but no replica is: set DB_REPLICA_HOSTNAME (or DATABASE_REPLICA_URL) too`,
      );
    }
    return null;
  }
  if (replica.host === primary.host && replica.port === primary.port) {
    problems.push(
      `${url ? 'DATABASE_REPLICA_URL' : 'DB_REPLICA_HOSTNAME'}: names the primary itself (${primary.host}:${primary.port}): a replica is another server that replicates from it`,
    );
    return null;
  }
  return replica;
}

/**
 * What the variables get wrong together rather than one by one; the production rule is read from
 * the raw environment, so that it is reported along with any other problem.
 */
function crossProblems(
  present: Record<string, string | undefined>,
  e: z.infer<typeof environment> | undefined,
  server: boolean,
): string[] {
  const problems: string[] = [];
  const tokens = (present.API_TOKENS ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  const production = present.NODE_ENV?.trim() === 'production';
  if (server && production && tokens.length === 0) {
    problems.push(
      'API_TOKENS: is empty, and NODE_ENV=production needs at least one token (comma-separated, e.g. API_TOKENS=$(openssl rand -hex 32)): without one every write would be refused',
    );
  }
  // Said by position and length only: a configuration error never shows a token.
  const short = tokens
    .map((token, index) => ({ position: index + 1, length: [...token].length }))
    .filter(({ length }) => length < MIN_PRODUCTION_TOKEN_LENGTH);
  if (server && production && short.length > 0) {
    const which = short
      .map(({ position, length }) => `token ${position} of ${tokens.length} has ${length}`)
      .join(', ');
    problems.push(
      `API_TOKENS: ${which} characters, and NODE_ENV=production needs at least ${MIN_PRODUCTION_TOKEN_LENGTH} so that a token cannot be guessed: make each one with e.g. openssl rand -hex 32 (64 characters)`,
    );
  }
  const named = SERVER_VARIABLES.filter((name) => present[name] !== undefined);
  if (e?.DB_EMBEDDED === true && named.length > 0) {
    problems.push(
      `DB_EMBEDDED: is 1, which starts a private MariaDB, but ${named.join(', ')} name${named.length === 1 ? 's' : ''} a server: unset one or the other`,
    );
  }
  if (e === undefined) return problems;
  // A burst smaller than the dearest single write would refuse that write forever.
  const dearest = Math.max(writeCostOfBatch(e.INGEST_MAX_BATCH), REFRESH_COST);
  if (e.WRITE_RATE_LIMIT > 0 && e.WRITE_RATE_BURST < dearest) {
    problems.push(
      `WRITE_RATE_BURST: ${e.WRITE_RATE_BURST} is less than ${dearest}, what a full batch of INGEST_MAX_BATCH=${e.INGEST_MAX_BATCH} measurements or a refreshAirQuality costs (src/config/write-cost.ts): such a write could never pass`,
    );
  }
  return problems;
}
