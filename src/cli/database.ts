import type { Config, DatabaseConfig } from '../config/config.js';
import { DatabaseChoiceError, resolveDatabase } from '../db/resolve-database.js';

export interface ScriptIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Record<string, string | undefined>;
}

/**
 * Runs a script's work on the database resolveDatabase() chooses (the configured one, or the
 * checkout's embedded MariaDB), saying which when it is the embedded one, and leaves it at the
 * end. With no database to use, prints why and returns 1 without running anything.
 * `stamp` starts the closing line, as the script starts its own lines.
 */
export async function withScriptDatabase(
  config: Config,
  io: ScriptIo,
  run: (db: DatabaseConfig) => Promise<number>,
  stamp: () => string = () => '',
): Promise<number> {
  let database: Awaited<ReturnType<typeof resolveDatabase>>;
  try {
    database = await resolveDatabase(config, {
      env: io.env,
      log: (line) => io.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (!(error instanceof DatabaseChoiceError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 1;
  }
  try {
    if (database.notice) io.stdout.write(`${database.notice}\n`);
    return await run(database.db);
  } finally {
    const said = await database.release();
    if (said) io.stdout.write(`${stamp()}${said}\n`);
  }
}
