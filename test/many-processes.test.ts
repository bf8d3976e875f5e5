import { readdir, readFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { type ApiProcess, killApiProcesses, startApiProcess } from './helpers/api-process.js';
import {
  callRefresh,
  createTestDatabase,
  type TestDatabase,
  waitFor,
  withEventScheduler,
} from './helpers/database.js';
import { type Received, wsClient, wsSubscribe } from './helpers/live-clients.js';
import { pairEnv } from './helpers/replica-app.js';
import {
  currentRunOn,
  type ReplicationPair,
  seedPair,
  startReplicationPair,
  waitUntilReplicating,
} from './helpers/replication.js';
import { MINUTE } from './helpers/seed.js';

/**
 * Several API processes as one service: the real entry point (npm start) started more than once
 * over one primary (and its replica), or with WORKERS.
 */

const TOKEN = 'many-processes-token';
const RUNS = 'subscription { airQualityRuns { id } }';

afterEach(() => {
  killApiProcesses();
});

/** Subscribers to the runs over graphql-ws, each on a connection of its own. */
function subscribers(api: ApiProcess, count: number) {
  return Array.from({ length: count }, () => {
    const client = wsClient(`ws://127.0.0.1:${api.port}/graphql`);
    const received = wsSubscribe(client, { query: RUNS });
    return { client, received };
  });
}

const ids = (received: Received) =>
  received.values('airQualityRuns').map((run: { id: string }) => Number(run.id));

function untilAll(list: { received: Received }[], count: number, what: string) {
  return Promise.all(
    list.map(({ received }) => received.until((r) => r.results.length >= count, what)),
  );
}

describe('two API processes over a primary and its replica', () => {
  let pair: ReplicationPair;

  beforeAll(async () => {
    pair = await startReplicationPair('belair');
    await seedPair(pair, { city: 'Twoprocess', location: 'BETR-TWO', pollutant: 'no2', value: 30 });
  }, 180_000);

  afterAll(async () => {
    await pair?.stop();
  });

  async function refreshThrough(api: ApiProcess): Promise<number> {
    const response = await fetch(`${api.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ query: 'mutation { refreshAirQuality { id } }' }),
    });
    const body = (await response.json()) as { data: { refreshAirQuality: { id: string } } };
    return Number(body.data.refreshAirQuality.id);
  }

  it('delivers every run once to the subscribers of both, the process that made a run first, the replica’s once it has it', async () => {
    const env = { API_TOKENS: TOKEN, POLL_INTERVAL_MS: '100', LOG_LEVEL: 'info' };
    const onPrimary = await startApiProcess({ ...env, ...pairEnv(pair, { replica: false }) });
    const onReplica = await startApiProcess({ ...env, ...pairEnv(pair) });
    // Both turned the throwaway primary's event scheduler on: no scheduled run during the test.
    await pair.onPrimary('SET GLOBAL event_scheduler = OFF');
    expect(onReplica.output.text).toContain(
      `reads go to replica 127.0.0.1:${pair.replica.port} (0 s behind the primary)`,
    );
    const ofPrimary = subscribers(onPrimary, 2);
    const ofReplica = subscribers(onReplica, 2);
    const all = [...ofPrimary, ...ofReplica];
    try {
      await untilAll(all, 1, 'the current run');
      const first = await currentRunOn(pair.onPrimary);

      // A run made by another client of the primary reaches everybody.
      const second = await callRefresh(pair.primary);
      await untilAll(all, 2, 'the second run');

      // The replica applies what it receives 3 s late (within DB_REPLICA_MAX_LAG_SECONDS).
      await pair.onReplica('STOP SLAVE');
      await pair.onReplica('CHANGE MASTER TO MASTER_DELAY = 3');
      await pair.onReplica('START SLAVE');
      await waitUntilReplicating(pair);

      // Made through the replica's process: its subscribers get it without waiting for the replica.
      const third = await refreshThrough(onReplica);
      await untilAll(ofReplica, 3, 'the third run, on the process that made it');
      expect(await currentRunOn(pair.onReplica)).toBe(second);
      await untilAll(ofPrimary, 3, 'the third run, on the other process');

      // Made through the other process once the replica holds the third (until then the replica's
      // process, holding a run the replica lacks, asks the primary): the replica's subscribers get
      // it once the replica has it.
      await waitFor(
        async () => ((await currentRunOn(pair.onReplica)) === third ? true : undefined),
        30_000,
        'the replica to apply the third run',
      );
      const fourth = await refreshThrough(onPrimary);
      await untilAll(ofPrimary, 4, 'the fourth run, on the process that made it');
      expect(ofReplica.map(({ received }) => received.results.length)).toEqual([3, 3]);
      await untilAll(ofReplica, 4, 'the fourth run, once the replica has it');
      expect(await currentRunOn(pair.onReplica)).toBe(fourth);

      // Once the replica has caught up, nothing is delivered twice.
      await pair.caughtUp();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const { received } of all) {
        expect(ids(received)).toEqual([first, second, third, fourth]);
      }
      const ready = (await (await fetch(`${onReplica.base}/readyz`)).json()) as {
        reads: { server: string; replica: { state: string } };
      };
      expect(ready.reads).toMatchObject({ server: 'replica', replica: { state: 'replicating' } });
    } finally {
      for (const { client } of all) await client.dispose();
      await pair.onReplica('STOP SLAVE');
      await pair.onReplica('CHANGE MASTER TO MASTER_DELAY = 0');
      await pair.onReplica('START SLAVE');
    }
    expect(await onPrimary.stop()).toEqual({ code: 0, signal: null });
    expect(await onReplica.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('never migrates the replica: its EVENTs stay SLAVESIDE_DISABLED after belair starts, and migrate() refuses it', async () => {
    const api = await startApiProcess({ API_TOKENS: TOKEN, ...pairEnv(pair) });
    await pair.onPrimary('SET GLOBAL event_scheduler = OFF');
    await pair.caughtUp();
    const events = (run: ReplicationPair['onPrimary']) =>
      run<RowDataPacket[]>(
        "SELECT EVENT_NAME AS name, STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'belair' ORDER BY 1",
      );
    expect(await events(pair.onPrimary)).toEqual([
      { name: 'purge_old_data', status: 'ENABLED' },
      { name: 'refresh_air_quality', status: 'ENABLED' },
    ]);
    expect(await events(pair.onReplica)).toEqual([
      { name: 'purge_old_data', status: 'SLAVESIDE_DISABLED' },
      { name: 'refresh_air_quality', status: 'SLAVESIDE_DISABLED' },
    ]);
    // belair never touched the replica's scheduler either.
    expect(await pair.onReplica('SELECT @@GLOBAL.event_scheduler AS state')).toEqual([
      { state: 'OFF' },
    ]);
    expect(await api.stop()).toEqual({ code: 0, signal: null });

    await expect(migrate(pair.replica, { ensureEventScheduler: false })).rejects.toThrow(
      `127.0.0.1:${pair.replica.port} is a replica of 127.0.0.1:${pair.primary.port} (SHOW SLAVE STATUS): belair migrates and runs its EVENTs on the primary only. ` +
        'Point DB_HOSTNAME (or DATABASE_URL) at the primary, and the replica at DB_REPLICA_HOSTNAME; ' +
        'if this server was promoted to primary, end its replication first: STOP SLAVE; RESET SLAVE ALL.',
    );
    expect(await events(pair.onReplica)).toEqual([
      { name: 'purge_old_data', status: 'SLAVESIDE_DISABLED' },
      { name: 'refresh_air_quality', status: 'SLAVESIDE_DISABLED' },
    ]);
  }, 120_000);

  // Last of this describe: the pair's roles are swapped afterwards.
  it('fails over as docs/scaling.md says: the promoted replica aggregates, the old primary follows it', async () => {
    const lastRun = await currentRunOn(pair.onPrimary);
    await pair.caughtUp();
    // Promote the replica (docs/scaling.md, "Failover").
    await pair.onReplica('STOP SLAVE');
    await pair.onReplica('RESET SLAVE ALL');
    await pair.onReplica('ALTER EVENT belair.refresh_air_quality ENABLE');
    await pair.onReplica('ALTER EVENT belair.purge_old_data ENABLE');
    await pair.onReplica('SET GLOBAL event_scheduler = ON');
    // The old primary follows the new one, its EVENTs disabled there.
    await pair.onPrimary(
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${pair.replica.port},
         MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = current_pos`,
    );
    await pair.onPrimary('START SLAVE');
    // What the new primary logged (its ALTER EVENT ... ENABLE among it) is applied here first:
    // otherwise a replicated ALTER could land after the local ones below, in either order.
    const [newPrimary] = await pair.onReplica<RowDataPacket[]>(
      'SELECT @@GLOBAL.gtid_binlog_pos AS pos',
    );
    const [waited] = await pair.onPrimary<RowDataPacket[]>(
      'SELECT MASTER_GTID_WAIT(?, 30) AS result',
      [newPrimary?.pos ?? ''],
    );
    expect(Number(waited?.result)).toBe(0);
    await pair.onPrimary('ALTER EVENT belair.refresh_air_quality DISABLE ON SLAVE');
    await pair.onPrimary('ALTER EVENT belair.purge_old_data DISABLE ON SLAVE');
    await pair.onPrimary('SET GLOBAL event_scheduler = OFF');

    const originators = (run: ReplicationPair['onPrimary']) =>
      run<RowDataPacket[]>(
        "SELECT EVENT_NAME AS name, STATUS AS status, ORIGINATOR AS originator FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'belair' ORDER BY 1",
      );
    // belair on the new primary (the old one as its replica): it migrates the new primary, reads
    // the old one, and the EVENTs keep to the new primary.
    const swapped = {
      ...pairEnv(pair),
      DB_PORT: String(pair.replica.port),
      DB_REPLICA_PORT: String(pair.primary.port),
    };
    const api = await startApiProcess({ API_TOKENS: TOKEN, POLL_INTERVAL_MS: '100', ...swapped });
    try {
      expect(api.output.text).toContain(`database belair on 127.0.0.1:${pair.replica.port}: `);
      expect(await originators(pair.onReplica)).toEqual([
        { name: 'purge_old_data', status: 'ENABLED', originator: 2 },
        { name: 'refresh_air_quality', status: 'ENABLED', originator: 2 },
      ]);
      // Marked on the old primary itself, which is then their originator there.
      expect(await originators(pair.onPrimary)).toEqual([
        { name: 'purge_old_data', status: 'SLAVESIDE_DISABLED', originator: 1 },
        { name: 'refresh_air_quality', status: 'SLAVESIDE_DISABLED', originator: 1 },
      ]);
      // Every run is there, and new ones are made on the new primary and delivered.
      const [client] = subscribers(api, 1);
      try {
        await untilAll([client as { received: Received }], 1, 'the current run');
        expect(ids((client as { received: Received }).received)).toEqual([lastRun]);
        const next = await refreshThrough(api);
        await untilAll([client as { received: Received }], 2, 'a run of the new primary');
        expect(ids((client as { received: Received }).received)).toEqual([lastRun, next]);
      } finally {
        await client?.client.dispose();
      }
      const ready = (await (await fetch(`${api.base}/readyz`)).json()) as {
        refreshEvent: string;
        eventScheduler: string;
        reads: { server: string };
      };
      expect(ready).toMatchObject({
        refreshEvent: 'ENABLED',
        eventScheduler: 'ON',
        reads: { server: 'replica' },
      });
    } finally {
      expect(await api.stop()).toEqual({ code: 0, signal: null });
      await pair.onReplica('SET GLOBAL event_scheduler = OFF');
    }
  }, 120_000);
});

describe('processes on one server', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(import.meta.filename);
  });

  afterAll(async () => {
    await t?.drop();
  });

  // npm start turns the shared server's event scheduler on where it is off: held ON meanwhile.
  const start = (env: Record<string, string>) =>
    withEventScheduler('ON', () =>
      startApiProcess({ DB_DATABASE: t.db.database, DATABASE_URL: '', API_TOKENS: TOKEN, ...env }),
    );

  it('shares one write budget between two processes hammering one token', async () => {
    // 1,010 measurement units at once and one more per second: ten 1-item batches of 101 units
    // pass during the test, whichever process they reach, and no more.
    const env = { WRITE_RATE_LIMIT: '1', WRITE_RATE_BURST: '1010', INGEST_MAX_BATCH: '1' };
    const [first, second] = await Promise.all([start(env), start(env)]);
    const at = Date.now() - 30 * MINUTE;
    const send = (api: ApiProcess, i: number) =>
      fetch(`${api.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          query: `mutation ($m: [MeasurementInput!]!) { ingestMeasurements(measurements: $m) { inserted } }`,
          variables: {
            m: [
              {
                location: 'BETR-BUDGET',
                city: 'Budgetville',
                country: 'BE',
                parameter: 'PM10',
                value: i,
                unit: 'µg/m³',
                measuredAt: new Date(at + i * 1000).toISOString(),
              },
            ],
          },
        }),
      }).then(async (response) => {
        const body = (await response.json()) as {
          data?: { ingestMeasurements: { inserted: number } };
          errors?: { extensions: { code: string } }[];
        };
        return body.data?.ingestMeasurements.inserted === 1
          ? 'stored'
          : (body.errors?.[0]?.extensions.code ?? 'nothing');
      });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(i % 2 === 0 ? (first as ApiProcess) : (second as ApiProcess), i),
      ),
    );
    const tally = (list: string[]) =>
      list.reduce<Record<string, number>>((counts, answer) => {
        counts[answer] = (counts[answer] ?? 0) + 1;
        return counts;
      }, {});
    expect(tally(answers)).toEqual({ stored: 10, RATE_LIMITED: 30 });
    const [[row]] = await t.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM measurement m JOIN location l ON l.id = m.location_id WHERE l.name = 'BETR-BUDGET'`,
    );
    expect(Number(row?.n)).toBe(10);
    expect(await first?.stop()).toEqual({ code: 0, signal: null });
    expect(await second?.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('stops every worker and exits 1 when the workers cannot listen', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const failed = start({ WORKERS: '2', PORT: String(port) });
      await expect(failed).rejects.toThrow(/^the API exited \(code 1\) before it listened:/);
      await expect(failed).rejects.toThrow(
        new RegExp(`worker \\d+: cannot listen on port ${port}: (listen|bind) EADDRINUSE`),
      );
      await expect(failed).rejects.toThrow(
        /cannot start the workers: worker \d+ could not start \(exit code 1\)/,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 120_000);

  /** The pids of a process's children that run the API (tsx's esbuild is one too), from /proc. */
  async function childrenOf(pid: number): Promise<number[]> {
    const found: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
        // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const command = await readFile(`/proc/${entry}/cmdline`, 'utf8');
        if (ppid === pid && command.includes('src/cli/serve.ts')) found.push(Number(entry));
      } catch {
        // Gone meanwhile.
      }
    }
    return found.sort((a, b) => a - b);
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('runs WORKERS processes on one port, each delivering runs, replaces a dead one, and stops them all on SIGTERM', async () => {
    const api = await start({ WORKERS: '2', POLL_INTERVAL_MS: '100' });
    expect(api.output.text).toMatch(
      /belair serves GraphQL and GraphiQL at http:\/\/localhost:\d+\/graphql with 2 workers/,
    );
    const parent = api.child.pid as number;
    const workers = await childrenOf(parent);
    expect(workers).toHaveLength(2);
    const current = await callRefresh(t.db);
    // Connections are handed to the workers in turn: six subscribers, three on each.
    const list = subscribers(api, 6);
    try {
      await untilAll(list, 1, 'the current run');
      const run = await callRefresh(t.db);
      await untilAll(list, 2, 'the new run');
      for (const { received } of list) expect(ids(received)).toEqual([current, run]);

      // A worker that dies is replaced, and the port keeps serving.
      process.kill(workers[0] as number, 'SIGKILL');
      await waitFor(
        async () =>
          api.output.text.includes('died (SIGKILL): starting another') ? true : undefined,
        30_000,
        'the dead worker to be replaced',
      );
      const replaced = await waitFor(
        async () => {
          const now = await childrenOf(parent);
          return now.length === 2 && !now.includes(workers[0] as number) ? now : undefined;
        },
        60_000,
        'a new worker',
      );
      const newcomer = replaced.find((pid) => pid !== workers[1]);
      await waitFor(
        async () => (api.output.text.includes(`(pid ${newcomer}) listens`) ? true : undefined),
        60_000,
        'the new worker to listen',
      );
      expect(replaced).toContain(workers[1]);
      const again = subscribers(api, 2);
      list.push(...again);
      await untilAll(again, 1, 'the current run, after the replacement');
      for (const { received } of again) expect(ids(received)).toEqual([run]);
    } finally {
      for (const { client } of list) await client.dispose();
    }
    const survivors = await childrenOf(parent);
    expect(await api.stop()).toEqual({ code: 0, signal: null });
    expect(api.output.text).toContain('SIGTERM: finishing requests in flight, then stopping');
    expect(api.output.text).toMatch(/worker \d+: stopped/);
    expect(survivors.filter(alive)).toEqual([]);
  }, 180_000);
});
