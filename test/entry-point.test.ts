import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SQL_DIR } from '../src/db/migrate.js';
import { useScratchDatabases, waitFor, withEventScheduler } from './helpers/database.js';

/** Everything the process wrote so far, both streams. */
function output(child: ChildProcess): { text: string } {
  const seen = { text: '' };
  const keep = (chunk: Buffer) => {
    // Without the colours of the logger (ESC [ n m).
    seen.text += chunk
      .toString()
      .replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return seen;
}

describe('npm start (src/cli/serve.ts)', () => {
  const scratch = useScratchDatabases();

  it('creates and migrates a missing database, serves, and stops on SIGTERM', async () => {
    const server = scratch('entry');
    const { database } = server;
    const sqlFiles = (await readdir(SQL_DIR)).filter((name) => name.endsWith('.sql')).length;
    // The entry point turns the event scheduler on where it is off: hold it ON meanwhile, so that
    // it has nothing to change on the shared server.
    await withEventScheduler('ON', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/serve.ts'], {
        cwd: new URL('..', import.meta.url),
        env: { ...process.env, DB_DATABASE: database, PORT: '0', API_TOKENS: 'entry-token' },
      });
      const seen = output(child);
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      try {
        const port = await waitFor(
          async () =>
            /serves GraphQL and GraphiQL at http:\/\/localhost:(\d+)\/graphql/.exec(seen.text)?.[1],
          60_000,
          'the server to listen',
        );
        expect(seen.text).toContain(
          `database ${database} on ${server.host}:${server.port}: ${sqlFiles} sql files applied; event scheduler ON`,
        );
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(await health.json()).toEqual({ status: 'ok' });
        const runs = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer entry-token' },
          body: JSON.stringify({ query: 'mutation { refreshAirQuality { cities } }' }),
        });
        expect(await runs.json()).toEqual({ data: { refreshAirQuality: { cities: 0 } } });

        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(seen.text).toContain('SIGTERM: finishing requests in flight, then stopping');
        expect(seen.text).toContain('stopped');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  });
});
