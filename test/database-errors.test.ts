import mysql, { type RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import {
  CommitOutcomeUnknownError,
  classifyDatabaseError,
  PoolTimeoutError,
} from '../src/db/database-unavailable.js';
import { connectionOptions } from '../src/db/pool.js';
import { closedPort } from './helpers/closed-port.js';
import { connect, createPool, useTestDatabase } from './helpers/database.js';

const t = useTestDatabase(import.meta.filename);

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

describe('classifyDatabaseError, on the errors mysql2 really raises', () => {
  it('a refused connection', async () => {
    const port = await closedPort();
    const error = await failure(
      mysql.createConnection({ ...connectionOptions({ ...t.db, host: '127.0.0.1', port }) }),
    );
    expect(classifyDatabaseError(error)).toEqual({
      reason: 'connection refused',
      detail: expect.stringMatching(/ECONNREFUSED/),
      commitOutcomeUnknown: false,
      poolTimeout: null,
    });
  });

  it('a connection killed by the server, and the next statement on it', async () => {
    const victim = await connect(t.db);
    const killer = await connect(t.db);
    try {
      const pending = failure(victim.query('SELECT SLEEP(30)'));
      await killer.query(`KILL CONNECTION ${victim.threadId}`);
      const killed = await pending;
      expect(classifyDatabaseError(killed)?.reason).toMatch(/^connection (killed|lost)$/);
      const after = await failure(victim.query('SELECT 1'));
      expect(classifyDatabaseError(after)).toMatchObject({
        reason: 'connection closed',
        detail: "Can't add new command when connection is in closed state",
      });
    } finally {
      victim.destroy();
      await killer.end();
    }
  });

  it('a closed pool, a pool timeout, a lost COMMIT', async () => {
    const pool = createPool(t.db, 1, { acquireTimeoutMs: 50 });
    const held = await pool.getConnection();
    const timeout = await failure(pool.query('SELECT 1'));
    expect(timeout).toBeInstanceOf(PoolTimeoutError);
    expect(classifyDatabaseError(timeout)).toMatchObject({ reason: 'pool exhausted' });
    held.release();
    await pool.end();
    const closed = await failure(pool.query('SELECT 1'));
    expect(classifyDatabaseError(closed)).toMatchObject({
      reason: 'pool closed',
      detail: 'Pool is closed.',
    });
    expect(
      classifyDatabaseError(
        new CommitOutcomeUnknownError(Object.assign(new Error('x'), { code: 'ECONNRESET' })),
      ),
    ).toMatchObject({ reason: 'connection lost during COMMIT', commitOutcomeUnknown: true });
  });

  it('leaves every other error alone: they are unexpected, masked and logged', async () => {
    const syntax = await failure(t.pool.query('SELEC 1'));
    const missing = await failure(t.pool.query<RowDataPacket[]>('SELECT * FROM no_such_table'));
    const duplicate = await failure(
      t.pool.query('INSERT INTO pollutant (code) SELECT code FROM pollutant LIMIT 1'),
    );
    for (const error of [syntax, missing, duplicate, new Error('boom'), null, 'text']) {
      expect(classifyDatabaseError(error)).toBeNull();
    }
  });
});
