import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import type { DatabaseConfig } from '../config.js';

/**
 * Connection options shared by every belair connection:
 * - timezone 'Z': DATETIME columns hold UTC, and JavaScript Dates map to them without shifting;
 * - flags -FOUND_ROWS: an upsert that changes nothing reports 0 affected rows, which is how
 *   ingestion tells "unchanged" from "updated";
 * - flags -IGNORE_SPACE: mysql2 asks for it by default, which adds IGNORE_SPACE to the session's
 *   sql_mode; the server's own sql_mode is what the `mariadb` client gets, and the routines and
 *   EVENTs the migrator creates keep the sql_mode they were created with;
 * - supportBigNumbers/bigNumberStrings off: ids and counts fit in a double.
 */
export function connectionOptions(db: DatabaseConfig, withDatabase = true): PoolOptions {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    ...(withDatabase ? { database: db.database } : {}),
    timezone: 'Z',
    charset: 'utf8mb4_bin',
    flags: ['-FOUND_ROWS', '-IGNORE_SPACE'],
    dateStrings: false,
    decimalNumbers: true,
  };
}

export function createPool(db: DatabaseConfig, connectionLimit = 10): Pool {
  return mysql.createPool({
    ...connectionOptions(db),
    connectionLimit,
    waitForConnections: true,
    enableKeepAlive: true,
  });
}
