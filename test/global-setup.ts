import { loadConfig } from '../src/config/config.js';
import { resolveDatabase } from '../src/db/resolve-database.js';

/**
 * The server the whole run uses, chosen as npm start chooses it: the configured one (DB_*), the
 * MariaDB at 127.0.0.1:3306, or, with neither, the checkout's embedded MariaDB, joined or started
 * here for the run and left at its end. Its address reaches the test files and the processes they
 * start as DB_HOSTNAME and DB_PORT: a configured server, used as any other.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const database = await resolveDatabase(loadConfig(process.env), {
    log: (line) => console.log(line),
  });
  if (!database.embedded) return undefined;
  console.log(database.notice);
  process.env.DB_HOSTNAME = database.db.host;
  process.env.DB_PORT = String(database.db.port);
  return async () => {
    const said = await database.release();
    if (said) console.log(said);
  };
}
