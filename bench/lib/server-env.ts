import type { DatabaseConfig } from '../../src/config/config.js';

/** The environment a server child process reads its configuration from (src/config/config.ts). */
export function serverEnv(
  db: DatabaseConfig,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DB_HOSTNAME: db.host,
    DB_PORT: String(db.port),
    DB_USERNAME: db.user,
    DB_PASSWORD: db.password,
    DB_DATABASE: db.database,
    // DATABASE_URL would win over DB_*: the child must use the benchmark's database.
    DATABASE_URL: '',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}
