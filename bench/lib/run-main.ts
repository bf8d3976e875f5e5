import { ConfigError } from '../../src/config/config.js';
import { stopChildren } from './child.js';
import { dropOpenDatabases } from './database.js';

/**
 * Runs a benchmark entry point: Ctrl-C and failures stop the child processes and drop the scratch
 * databases; main's false (or an error) is exit code 1.
 */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  process.once('SIGINT', () => {
    void stopChildren()
      .then(dropOpenDatabases)
      .finally(() => process.exit(130));
  });
  try {
    if ((await main()) === false) process.exitCode = 1;
  } catch (error) {
    // Errors of mysql2 carry the whole statement: thousands of rows of a batch. Keep it readable.
    console.error(
      error instanceof ConfigError
        ? error.message
        : String((error as Error)?.stack ?? error).slice(0, 3000),
    );
    await stopChildren();
    await dropOpenDatabases();
    process.exitCode = 1;
  }
}
