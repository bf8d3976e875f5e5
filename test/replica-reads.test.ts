import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/db/pool.js';
import { graphql, withToken } from './helpers/app.js';
import { callRefresh, waitFor } from './helpers/database.js';
import { wsClient, wsSubscribe } from './helpers/live-clients.js';
import { appOnPair, type PairApp } from './helpers/replica-app.js';
import {
  currentRunOn,
  type ReplicationPair,
  seedPair,
  startReplicationPair,
  statementCounters,
  waitUntilReplicating,
} from './helpers/replication.js';
import { MINUTE } from './helpers/seed.js';

/**
 * Reads from a replica, on real replication: a throwaway primary and replica (see
 * helpers/replication.ts), belair migrated on the primary and replicated to the replica. The API
 * connects as its own user, belair_app, so that which server its statements reached is read from
 * each server's own statistics of that user (USER_STATISTICS), apart from what replication
 * applies and from the tests' own statements as root.
 */

const USER = 'belair_app';
const PASSWORD = 'app-pw';
const counters = (run: ReplicationPair['onPrimary']) => statementCounters(run, USER);

let pair: ReplicationPair;
const apps: PairApp[] = [];

beforeAll(async () => {
  pair = await startReplicationPair('belair');
  await seedPair(pair, {
    city: 'Replicaville',
    location: 'BETR-REPLICA',
    pollutant: 'pm10',
    value: 21,
  });
  // Created on the primary, replicated to the replica like any other change.
  await pair.onPrimary(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await pair.onPrimary(`GRANT ALL ON belair.* TO '${USER}'@'%'`);
  await pair.onPrimary(`GRANT SLAVE MONITOR ON *.* TO '${USER}'@'%'`);
  await pair.caughtUp();
}, 180_000);

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

afterAll(async () => {
  await pair?.stop();
});

async function started(env: Record<string, string> = {}, queryIdleMs?: number) {
  const app = await appOnPair(
    pair,
    { POLL_INTERVAL_MS: '100', DB_USERNAME: USER, DB_PASSWORD: PASSWORD, ...env },
    queryIdleMs === undefined ? {} : { live: { queryIdleMs } },
  );
  apps.push(app);
  const { port } = await app.start(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${port}` };
}

/** The poller is neither polling nor scheduled: nothing is on its way to a server. */
function untilIdle(app: PairApp): Promise<true> {
  return waitFor(
    async () => {
      const poller = app.liveStats().poller;
      return !poller.polling && !poller.timerActive ? true : undefined;
    },
    10_000,
    'the poller to idle',
    20,
  );
}

function untilServing(app: PairApp, server: 'primary' | 'replica'): Promise<true> {
  return waitFor(
    async () => (app.router.serving === server ? true : undefined),
    30_000,
    `reads to go to the ${server}`,
    50,
  );
}

async function readiness(base: string) {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: await response.json() };
}

/** The lines where the router said where reads go. */
const moves = (app: PairApp) => app.logger.lines.filter((line) => line.includes('reads go to'));

const RUNS = 'subscription { airQualityRuns { id } }';

const SCHEDULER_OFF =
  'The MariaDB event scheduler is OFF, so windows do not refresh: SET GLOBAL event_scheduler = ON.';

describe('reads from a replica', () => {
  it('sends polls, queries and history to the replica and writes to the primary, counted on each server', async () => {
    const { app } = await started({}, 1);
    expect(app.router.serving).toBe('replica');
    const replicaPort = pair.replica.port;
    expect(moves(app)).toEqual([
      `info reads go to replica 127.0.0.1:${replicaPort} (0 s behind the primary)`,
    ]);

    // Queries (and the poll they start), the poller idle before and after.
    await untilIdle(app);
    const routedBefore = app.router.stats().statements;
    const replicaBefore = await counters(pair.onReplica);
    const primaryBefore = await counters(pair.onPrimary);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const answer = await graphql(
      app,
      `{ cities { name locations { name } history(from: "${from}", to: "${to}") { pollutants { parameter average } } }
         city(name: "Replicaville") { airQuality { pollutants { parameter count } } }
         airQualityRuns(last: 5) { cities } }`,
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({
      cities: [
        {
          name: 'Replicaville',
          locations: [{ name: 'BETR-REPLICA' }],
          history: [{ pollutants: [{ parameter: 'PM10', average: 21 }] }],
        },
      ],
      city: { airQuality: { pollutants: [{ parameter: 'PM10', count: 1 }] } },
      airQualityRuns: [{ cities: 1 }],
    });
    await untilIdle(app);
    const replicaAfter = await counters(pair.onReplica);
    const primaryAfter = await counters(pair.onPrimary);
    const routed = app.router.stats().statements;
    const toReplica = routed.replica - routedBefore.replica;
    // cities, locations, history, city, runs, and the poll's current run and windows at least.
    expect(toReplica).toBeGreaterThanOrEqual(7);
    expect(replicaAfter.selects - replicaBefore.selects).toBe(toReplica);
    expect(routed.primary - routedBefore.primary).toBe(0);
    expect(primaryAfter.selects).toBe(primaryBefore.selects);

    // A subscription: every poll on the replica, however many.
    const pollerBefore = app.liveStats().poller;
    const { port } = app.server.address() as { port: number };
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`);
    try {
      const received = wsSubscribe(client, { query: RUNS });
      await received.until((r) => r.results.length === 1, 'the current run');
      await waitFor(
        async () => (app.liveStats().poller.polls >= pollerBefore.polls + 10 ? true : undefined),
        10_000,
        'ten polls',
      );
      received.dispose();
    } finally {
      await client.dispose();
    }
    await untilIdle(app);
    const pollerAfter = app.liveStats().poller;
    const replicaPolled = await counters(pair.onReplica);
    const polled = pollerAfter.statements - pollerBefore.statements;
    expect(polled).toBeGreaterThanOrEqual(10);
    expect(pollerAfter.replicaStatements - pollerBefore.replicaStatements).toBe(polled);
    expect(replicaPolled.selects - replicaAfter.selects).toBe(polled);
    expect((await counters(pair.onPrimary)).selects).toBe(primaryBefore.selects);

    // Writes: an ingestion and a refresh reach the primary; the replica gets their rows only.
    const writesBefore = await counters(pair.onReplica);
    const primaryWritesBefore = await counters(pair.onPrimary);
    const ingested = await graphql(
      app,
      `mutation { ingestMeasurements(measurements: [{ location: "BETR-REPLICA", city: "Replicaville", country: "BE",
         parameter: PM10, value: 23, unit: "µg/m³", measuredAt: "${new Date(Date.now() - 5 * MINUTE).toISOString()}" }]) { inserted } }`,
      {},
      withToken,
    );
    expect(ingested.data).toEqual({ ingestMeasurements: { inserted: 1 } });
    const refreshed = await graphql(
      app,
      'mutation { refreshAirQuality { cities measurements } }',
      {},
      withToken,
    );
    expect(refreshed.data).toEqual({ refreshAirQuality: { cities: 1, measurements: 2 } });
    await untilIdle(app);
    await pair.caughtUp();
    const writesAfter = await counters(pair.onReplica);
    const primaryWritesAfter = await counters(pair.onPrimary);
    expect([writesAfter.writes, writesAfter.rowsWritten]).toEqual([
      writesBefore.writes,
      writesBefore.rowsWritten,
    ]);
    expect(primaryWritesAfter.writes).toBeGreaterThan(primaryWritesBefore.writes);
    // The measurement, the run and its window at least.
    expect(primaryWritesAfter.rowsWritten - primaryWritesBefore.rowsWritten).toBeGreaterThanOrEqual(
      3,
    );
    // What the replica was sent meanwhile were reads, all through the router.
    expect(writesAfter.selects - writesBefore.selects).toBe(
      app.router.stats().statements.replica - routed.replica - polled,
    );
    // The refresh's poll read the primary (read-your-writes): its current run and the new run's
    // windows at least, and a poll or two more if the replica had not applied the run yet.
    const afterWrites = app.liveStats().poller;
    const onPrimary = (stats: typeof afterWrites) => stats.statements - stats.replicaStatements;
    expect(onPrimary(afterWrites) - onPrimary(pollerAfter)).toBeGreaterThanOrEqual(2);
    expect(app.liveStats().poller.currentRunId).toBe(await currentRunOn(pair.onPrimary));
  });

  it('turns reads to the primary on STOP SLAVE, says so in /readyz, and back on START SLAVE with no run missed', async () => {
    const { app, base } = await started();
    const { port } = app.server.address() as { port: number };
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`);
    const replicaAt = `127.0.0.1:${pair.replica.port}`;
    const primaryAt = `127.0.0.1:${pair.primary.port}`;
    try {
      const received = wsSubscribe(client, { query: RUNS });
      await received.until((r) => r.results.length === 1, 'the current run');
      const first = await currentRunOn(pair.onPrimary);

      await pair.onReplica('STOP SLAVE');
      await untilServing(app, 'primary');
      const down = await readiness(base);
      // Reads on the primary are no reason to be unready: the only reason is the test primary's
      // event scheduler, left off so that no scheduled run lands in the middle of a test.
      expect(down).toMatchObject({ status: 503, body: { reasons: [SCHEDULER_OFF] } });
      expect(down.body.reads).toEqual({
        server: 'primary',
        replica: {
          host: '127.0.0.1',
          port: pair.replica.port,
          state: 'stopped',
          lagSeconds: null,
          maxLagSeconds: 30,
          reason: `replica ${replicaAt}: its replication from ${primaryAt} is stopped (IO thread No, SQL thread No)`,
          checkedAt: expect.any(String),
        },
      });

      // A run the replica cannot have: served from the primary.
      const second = await callRefresh(pair.primary);
      await received.until((r) => r.results.length === 2, 'the run made while replication stopped');
      expect(await currentRunOn(pair.onReplica)).toBe(first);

      await pair.onReplica('START SLAVE');
      await untilServing(app, 'replica');
      // Back on the replica while it applies what it missed; once that is done, no lag.
      await pair.caughtUp();
      const back = await readiness(base);
      expect(back.body.reads).toEqual({
        server: 'replica',
        replica: expect.objectContaining({ state: 'replicating', lagSeconds: 0, reason: null }),
      });
      const third = await callRefresh(pair.primary);
      await received.until((r) => r.results.length === 3, 'the run made after START SLAVE');
      // Polls on the replica that saw the second run again published nothing.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(received.values('airQualityRuns').map((run) => Number(run.id))).toEqual([
        first,
        second,
        third,
      ]);
      received.dispose();
    } finally {
      await client.dispose();
      await pair.onReplica('START SLAVE');
    }
    const lines = moves(app);
    expect(lines.slice(0, 2)).toEqual([
      `info reads go to replica ${replicaAt} (0 s behind the primary)`,
      `warn reads go to the primary: replica ${replicaAt}: its replication from ${primaryAt} is stopped (IO thread No, SQL thread No)`,
    ]);
    // It may come back while it applies the run it missed, a second or so behind.
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(
        new RegExp(`^info reads go to replica ${replicaAt} \\(\\d+ s behind the primary\\)$`),
      ),
    ]);
  });

  it('turns reads to the primary while the replica lags past DB_REPLICA_MAX_LAG_SECONDS, and back once it caught up', async () => {
    const heartbeat = createPool(pair.primary, 1);
    await heartbeat.query(
      'CREATE TABLE IF NOT EXISTS heartbeat (id INT PRIMARY KEY, at DATETIME(6))',
    );
    await pair.onReplica('STOP SLAVE');
    await pair.onReplica('CHANGE MASTER TO MASTER_DELAY = 8');
    await pair.onReplica('START SLAVE');
    await waitUntilReplicating(pair);
    let beating = true;
    // Writes keep coming, so the delayed replica falls behind.
    const beats = (async () => {
      while (beating) {
        await heartbeat.query(
          'INSERT INTO heartbeat VALUES (1, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE at = VALUES(at)',
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const replicaAt = `127.0.0.1:${pair.replica.port}`;
    try {
      const { app, base } = await started({ DB_REPLICA_MAX_LAG_SECONDS: '2' });
      await untilServing(app, 'primary');
      const lagging = await readiness(base);
      expect(lagging.body.reads.server).toBe('primary');
      expect(lagging.body.reads.replica).toMatchObject({ state: 'replicating', maxLagSeconds: 2 });
      expect(lagging.body.reads.replica.lagSeconds).toBeGreaterThan(2);
      expect(lagging.body.reads.replica.reason).toMatch(
        new RegExp(
          `^replica ${replicaAt} (lags \\d+ s behind the primary, more than DB_REPLICA_MAX_LAG_SECONDS \\(2 s\\)|is catching up: \\d+ s behind the primary, back to it at 1 s or less)$`,
        ),
      );
      // A run made meanwhile is answered at once: read from the primary.
      const run = await callRefresh(pair.primary);
      const answer = await graphql(
        app,
        '{ airQualityRuns(last: 1) { id } airQuality { run { id } } }',
      );
      expect(answer.data).toEqual({
        airQualityRuns: [{ id: String(run) }],
        airQuality: [{ run: { id: String(run) } }],
      });
      expect(await currentRunOn(pair.onReplica)).not.toBe(run);

      await pair.onReplica('STOP SLAVE');
      await pair.onReplica('CHANGE MASTER TO MASTER_DELAY = 0');
      await pair.onReplica('START SLAVE');
      await untilServing(app, 'replica');
      await pair.caughtUp();
      expect(await currentRunOn(pair.onReplica)).toBe(run);
      const lines = moves(app);
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(
        new RegExp(`^info reads go to replica ${replicaAt} \\([0-2] s behind the primary\\)$`),
      );
      expect(lines[1]).toMatch(
        new RegExp(
          `^warn reads go to the primary: replica ${replicaAt} lags \\d+ s behind the primary, more than DB_REPLICA_MAX_LAG_SECONDS \\(2 s\\)$`,
        ),
      );
      expect(lines[2]).toMatch(
        new RegExp(`^info reads go to replica ${replicaAt} \\([01] s behind the primary\\)$`),
      );
    } finally {
      beating = false;
      await beats;
      await heartbeat.end();
      await pair.onReplica('STOP SLAVE');
      await pair.onReplica('CHANGE MASTER TO MASTER_DELAY = 0');
      await pair.onReplica('START SLAVE');
      await waitUntilReplicating(pair);
    }
  });

  it('answers from the primary at once when the replica’s process stops, and reads the replica again once it is back', async () => {
    const { app, base } = await started();
    const { port } = app.server.address() as { port: number };
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`);
    const replicaAt = `127.0.0.1:${pair.replica.port}`;
    try {
      const received = wsSubscribe(client, { query: RUNS });
      await received.until((r) => r.results.length === 1, 'the current run');
      const first = await currentRunOn(pair.onPrimary);

      await pair.stopReplica();
      // Whatever the router last saw, the query is answered: retried on the primary.
      const answer = await graphql(app, '{ airQualityRuns(last: 1) { id } }');
      expect(answer).toMatchObject({
        status: 200,
        data: { airQualityRuns: [{ id: String(first) }] },
      });
      expect(answer.errors).toBeUndefined();
      await untilServing(app, 'primary');
      const down = await readiness(base);
      expect(down).toMatchObject({ status: 503, body: { reasons: [SCHEDULER_OFF] } });
      expect(down.body.reads.server).toBe('primary');
      expect(down.body.reads.replica).toMatchObject({ state: 'unreachable', lagSeconds: null });
      expect(down.body.reads.replica.reason).toMatch(
        new RegExp(
          `^replica ${replicaAt}: it does not answer \\((connection refused|connection lost|server has gone away|connection reset)\\): `,
        ),
      );

      const second = await callRefresh(pair.primary);
      await received.until((r) => r.results.length === 2, 'the run made while the replica is down');

      await pair.startReplica();
      await waitUntilReplicating(pair);
      await untilServing(app, 'replica');
      const third = await callRefresh(pair.primary);
      await received.until((r) => r.results.length === 3, 'the run made once the replica is back');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(received.values('airQualityRuns').map((run) => Number(run.id))).toEqual([
        first,
        second,
        third,
      ]);
      received.dispose();
    } finally {
      await client.dispose();
    }
  });
});

describe('the replica’s user and privileges', () => {
  beforeAll(async () => {
    await pair.onPrimary("CREATE USER IF NOT EXISTS 'reader'@'%' IDENTIFIED BY 'reader-pw'");
    await pair.onPrimary("GRANT SELECT ON belair.* TO 'reader'@'%'");
    await pair.caughtUp();
  });

  it("reaches the replica with the primary's user and password when DB_REPLICA_USERNAME is unset", async () => {
    const { app } = await started();
    expect(app.config.replica).toMatchObject({ user: USER, password: PASSWORD });
    expect(app.router.serving).toBe('replica');
    const answer = await graphql(app, '{ cities { name } }');
    expect(answer.data).toEqual({ cities: [{ name: 'Replicaville' }] });
    const sessions = await pair.onReplica<{ n: number }[]>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'belair_app' AND DB = 'belair'",
    );
    expect(Number(sessions[0]?.n)).toBeGreaterThan(0);
  });

  it('reads the primary, and says which GRANT is missing, when the replica’s user may not read its replication status', async () => {
    const { app, base } = await started({
      DB_REPLICA_USERNAME: 'reader',
      DB_REPLICA_PASSWORD: 'reader-pw',
    });
    expect(app.router.serving).toBe('primary');
    const replicaAt = `127.0.0.1:${pair.replica.port}`;
    expect((await readiness(base)).body.reads).toEqual({
      server: 'primary',
      replica: expect.objectContaining({
        state: 'unreadable',
        reason: `replica ${replicaAt}: it does not let 'reader'@'%' read its replication status: GRANT SLAVE MONITOR ON *.* TO 'reader'@'%'`,
      }),
    });
    const answer = await graphql(app, '{ cities { name } }');
    expect(answer.data).toEqual({ cities: [{ name: 'Replicaville' }] });
  });
});
