import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { callRefresh } from './database.js';
import {
  createBaseDir,
  installDataDir,
  type RunningMariadbd,
  startMariadbd,
  stopByPid,
  sweepOrphans,
} from './mariadb-process.js';
import { insertCity, insertLocation, insertMeasurements, MINUTE } from './seed.js';

/**
 * A real MariaDB primary and replica for the tests: two throwaway mariadbd on free ports of
 * 127.0.0.1, their data under one folder of the system's temporary folder, the primary with
 * binary logging (server_id 1), the replica (server_id 2) replicating from it by GTID. Root has no
 * password on either. stop() kills both by pid and deletes the folder; a test process that dies
 * without stopping them has them killed when it exits, or swept by the next pair (see
 * mariadb-process.ts).
 */
export interface ReplicationPair {
  /** The primary's address as root, with the database given to startReplicationPair. */
  readonly primary: DatabaseConfig;
  /** The replica's. */
  readonly replica: DatabaseConfig;
  readonly primaryServer: RunningMariadbd;
  /** The replica's process: changes when restarted by startReplica(). */
  readonly replicaServer: RunningMariadbd;
  /** Runs SQL on the primary as root (no default database). */
  onPrimary<T = RowDataPacket[]>(sql: string, values?: unknown[]): Promise<T>;
  /** Runs SQL on the replica as root (no default database). */
  onReplica<T = RowDataPacket[]>(sql: string, values?: unknown[]): Promise<T>;
  /** Resolves once the replica has applied everything the primary had written when called. */
  caughtUp(timeoutSeconds?: number): Promise<void>;
  /** Stops the replica's mariadbd (SIGTERM, by pid). */
  stopReplica(): Promise<void>;
  /** Starts the replica's mariadbd again on the same port and data; replication resumes. */
  startReplica(): Promise<void>;
  /** Stops both servers and deletes their data. */
  stop(): Promise<void>;
}

// Row-based binary logging, as MariaDB recommends; per-user statistics (USER_STATISTICS), which
// tell what clients sent a server from what replication applied.
const PRIMARY_ARGS = ['--server-id=1', '--log-bin=binlog', '--binlog-format=ROW', '--userstat'];
// The replica logs what it applies too (log_slave_updates), as a replica that may be promoted
// must: the old primary can then follow it from where it stopped.
const REPLICA_ARGS = [
  '--server-id=2',
  '--relay-log=relay',
  '--log-bin=binlog',
  '--log-slave-updates',
  '--binlog-format=ROW',
  '--read-only=OFF',
  '--userstat',
];

async function sql<T>(server: RunningMariadbd, text: string, values?: unknown[]): Promise<T> {
  const connection: Connection = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: 'root',
    timezone: 'Z',
  });
  try {
    const [rows] = await connection.query(text, values);
    return rows as T;
  } finally {
    await connection.end();
  }
}

/** Starts a primary and a replica; `database` names the database both configs point at. */
export async function startReplicationPair(database = 'belair'): Promise<ReplicationPair> {
  await sweepOrphans();
  const base = await createBaseDir();
  const servers: RunningMariadbd[] = [];
  try {
    const primaryDir = join(base, 'primary');
    const replicaDir = join(base, 'replica');
    await Promise.all([installDataDir(primaryDir), installDataDir(replicaDir)]);
    const [primaryServer, firstReplica] = await Promise.all([
      startMariadbd({ dataDir: primaryDir, args: PRIMARY_ARGS }),
      startMariadbd({ dataDir: replicaDir, args: REPLICA_ARGS }),
    ]);
    servers.push(primaryServer, firstReplica);
    let replicaServer = firstReplica;
    await sql(
      replicaServer,
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primaryServer.port},
         MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos,
         MASTER_CONNECT_RETRY = 1`,
    );
    await sql(replicaServer, 'START SLAVE');
    const pair: ReplicationPair = {
      primary: {
        host: '127.0.0.1',
        port: primaryServer.port,
        user: 'root',
        password: '',
        database,
      },
      replica: {
        host: '127.0.0.1',
        port: replicaServer.port,
        user: 'root',
        password: '',
        database,
      },
      primaryServer,
      get replicaServer() {
        return replicaServer;
      },
      onPrimary: (text, values) => sql(primaryServer, text, values),
      onReplica: (text, values) => sql(replicaServer, text, values),
      async caughtUp(timeoutSeconds = 30) {
        const [position] = await sql<RowDataPacket[]>(
          primaryServer,
          'SELECT @@GLOBAL.gtid_binlog_pos AS pos',
        );
        const [waited] = await sql<RowDataPacket[]>(
          replicaServer,
          'SELECT MASTER_GTID_WAIT(?, ?) AS result',
          [position?.pos ?? '', timeoutSeconds],
        );
        if (Number(waited?.result) !== 0) {
          throw new Error(`the replica did not reach ${position?.pos} within ${timeoutSeconds} s`);
        }
      },
      async stopReplica() {
        await stopByPid(replicaServer.pid);
      },
      async startReplica() {
        replicaServer = await startMariadbd({
          dataDir: replicaDir,
          port: replicaServer.port,
          args: REPLICA_ARGS,
        });
        servers.push(replicaServer);
      },
      async stop() {
        await Promise.all(servers.map((server) => stopByPid(server.pid)));
        await rm(base, { recursive: true, force: true });
      },
    };
    await waitUntilReplicating(pair);
    return pair;
  } catch (error) {
    await Promise.all(servers.map((server) => stopByPid(server.pid)));
    await rm(base, { recursive: true, force: true });
    throw error;
  }
}

/** Both replication threads of the replica run (Slave_running ON), or fails after timeoutMs. */
export async function waitUntilReplicating(
  pair: ReplicationPair,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await pair.onReplica<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Slave_running'");
    if (row?.Value === 'ON') return;
    if (Date.now() > deadline) {
      const [status] = await pair.onReplica<RowDataPacket[]>('SHOW SLAVE STATUS');
      throw new Error(
        `the replica does not replicate after ${timeoutMs} ms: IO ${status?.Slave_IO_Running} (${status?.Last_IO_Error}), SQL ${status?.Slave_SQL_Running} (${status?.Last_SQL_Error})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What one user's sessions sent a server since it started (information_schema.USER_STATISTICS). */
export interface StatementCounters {
  /** SELECT statements. */
  readonly selects: number;
  /** INSERT, UPDATE, DELETE, REPLACE statements (and those inside the procedures it called). */
  readonly writes: number;
  /** Rows those inserted, updated or deleted. */
  readonly rowsWritten: number;
}

/**
 * A user's counters on a server (both run with --userstat): what the tests compare before and
 * after, to see which server a statement reached. Only client sessions count: the replica
 * applying the primary's changes counts for no user, and neither does reading the counters.
 */
export async function statementCounters(
  run: ReplicationPair['onPrimary'],
  user: string,
): Promise<StatementCounters> {
  const [row] = await run<RowDataPacket[]>(
    `SELECT SELECT_COMMANDS AS selects, UPDATE_COMMANDS AS writes,
            ROWS_INSERTED + ROWS_UPDATED + ROWS_DELETED AS rowsWritten
     FROM information_schema.USER_STATISTICS WHERE USER = ?`,
    [user],
  );
  return {
    selects: Number(row?.selects ?? 0),
    writes: Number(row?.writes ?? 0),
    rowsWritten: Number(row?.rowsWritten ?? 0),
  };
}

/** One station's measurement for seedPair. */
export interface PairStation {
  readonly city: string;
  readonly location: string;
  readonly pollutant: string;
  readonly value: number;
}

/**
 * belair on the pair: migrated on the primary (and so replicated), one measurement of the
 * station's, ten minutes ago, and a run over it; resolves once the replica has all of it.
 */
export async function seedPair(pair: ReplicationPair, station: PairStation): Promise<void> {
  await migrate(pair.primary, { ensureEventScheduler: false });
  const seed = createPool(pair.primary, 2);
  try {
    const city = await insertCity(seed, 'BE', station.city);
    const location = await insertLocation(seed, city, station.location);
    await insertMeasurements(seed, [
      {
        locationId: location,
        pollutant: station.pollutant,
        measuredAt: Date.now() - 10 * MINUTE,
        value: station.value,
        unit: 'µg/m³',
      },
    ]);
  } finally {
    await seed.end();
  }
  await callRefresh(pair.primary);
  await pair.caughtUp();
}

/** The current run's id on a server of the pair (its belair database), read as root. */
export async function currentRunOn(run: ReplicationPair['onPrimary']): Promise<number> {
  const [row] = await run<{ id: number }[]>(
    'SELECT id FROM belair.air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1',
  );
  return Number(row?.id);
}
