import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import type { DatabaseConfig } from '../config.js';

/**
 * Connection options shared by every belair connection:
 * - timezone 'Z': DATETIME columns hold UTC, and JavaScript Dates map to them without shifting;
 * - flags -FOUND_ROWS: an upsert that changes nothing reports 0 affected rows, which is how
 *   ingestion tells "unchanged" from "updated";
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
    flags: ['-FOUND_ROWS'],
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
