import { ConfigError, loadConfig } from '../config/config.js';
import { migrate } from '../db/migrate.js';

/** npm run db:migrate: creates the database and applies sql/, then says what it did. */
try {
  const config = loadConfig();
  const result = await migrate(config.db, { log: (message) => console.log(message) });
  console.log(
    `${config.db.database} on ${config.db.host}:${config.db.port}: ${result.statements} statements from ${result.files.length} files; event scheduler ${result.eventScheduler}`,
  );
  if (result.warning) process.exitCode = 2;
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
