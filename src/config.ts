import { z } from 'zod';

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

export interface Config {
  readonly db: DatabaseConfig;
  /** Connections in the API's mysql2 pool. */
  readonly dbPoolSize: number;
  /** How long a statement waits for a pooled connection before DATABASE_UNAVAILABLE (ms). */
  readonly dbAcquireTimeoutMs: number;
  readonly port: number;
  /** Bearer tokens that may write (ingestMeasurements, refreshAirQuality). Empty: nobody may. */
  readonly apiTokens: readonly string[];
  readonly pollIntervalMs: number;
  readonly ingestMaxBatch: number;
  /** Largest request body accepted, in bytes; larger ones get 413. Leaves room for a full batch. */
  readonly maxBodyBytes: number;
  readonly maxConnections: number;
  /** /readyz fails when the current run is older than this (seconds). */
  readonly readyMaxRunAgeSeconds: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const environment = z.object({
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .refine(
      (value) => value === undefined || value === '' || /^(mysql|mariadb):\/\//.test(value),
      'must look like mysql://user:password@host:3306/database',
    ),
  DB_HOSTNAME: z.string().trim().min(1).default('127.0.0.1'),
  DB_PORT: wholeNumber(1, 65535).default(3306),
  DB_USERNAME: z.string().min(1).default('root'),
  DB_PASSWORD: z.string().default(''),
  DB_DATABASE: z
    .string()
    .trim()
    .regex(DATABASE_NAME, 'must be 1-64 letters, digits, _ or $')
    .default('openaq'),
  DB_POOL_SIZE: wholeNumber(1, 1000).default(10),
  DB_ACQUIRE_TIMEOUT_MS: wholeNumber(1, 600_000).default(5000),
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
  MAX_CONNECTIONS: wholeNumber(1, 1_000_000).default(20_000),
  READY_MAX_RUN_AGE_SECONDS: wholeNumber(1, 31_536_000).default(900),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses a mysql:// or mariadb:// URL into database settings, or throws ConfigError. */
function parseDatabaseUrl(url: string): DatabaseConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([
      'DATABASE_URL: is not a valid URL; it must look like mysql://user:password@host:3306/database',
    ]);
  }
  const problems: string[] = [];
  const port = parsed.port === '' ? 3306 : Number(parsed.port);
  if (port < 1) problems.push(`DATABASE_URL: port ${parsed.port} is not a port number`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'openaq';
  if (!DATABASE_NAME.test(database)) {
    problems.push(`DATABASE_URL: database name "${database}" must be 1-64 letters, digits, _ or $`);
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

/** Reads the configuration from an environment (process.env by default), or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
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
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const e = result.data;
  const db = urlDb ?? {
    host: e.DB_HOSTNAME,
    port: e.DB_PORT,
    user: e.DB_USERNAME,
    password: e.DB_PASSWORD,
    database: e.DB_DATABASE,
  };
  return Object.freeze({
    db: Object.freeze(db),
    dbPoolSize: e.DB_POOL_SIZE,
    dbAcquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
    port: e.PORT,
    apiTokens: Object.freeze(e.API_TOKENS),
    pollIntervalMs: e.POLL_INTERVAL_MS,
    ingestMaxBatch: e.INGEST_MAX_BATCH,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxConnections: e.MAX_CONNECTIONS,
    readyMaxRunAgeSeconds: e.READY_MAX_RUN_AGE_SECONDS,
    logLevel: e.LOG_LEVEL,
  });
}
