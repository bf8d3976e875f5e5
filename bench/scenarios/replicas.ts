import { performance } from 'node:perf_hooks';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { connectionOptions } from '../../src/db/pool.js';
import { startReplicationPair } from '../../test/helpers/replication.js';
import { type Child, startChild } from '../lib/child.js';
import { createBenchDatabase } from '../lib/database.js';
import { BELGIAN_LAYOUT, createStations } from '../lib/generate.js';
import { sleep, summarize } from '../lib/measure.js';
import { callRefresh, loadHistoryAndWindows } from '../lib/refresh-timing.js';
import { type Figure, figure } from '../lib/result.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { serverEnv } from '../lib/server-env.js';
import { SUBSCRIPTION } from './fan-out.js';

/**
 * Scenario 6, replicas: a real MariaDB primary and replica (two throwaway mariadbd, see
 * test/helpers/replication.ts). The same subscribers are served two ways, and each delivery of a
 * new run committed on the primary is timed from the commit:
 * - one API process on the primary serves all of them (the baseline);
 * - two API processes (one per core) serve half each, one reading the primary, the other the
 *   replica (DB_REPLICA_*).
 * Also measured: SQL statements per poll on each server (per-user statistics of the servers), and
 * the replication lag (commit on the primary → applied on the replica, by MASTER_GTID_WAIT) with
 * its share of the replica-side deliveries.
 */

const WINDOW_END = new Date('2025-01-15T12:00:00.000Z');
const WINDOW_ROWS = 10_000;
const POLL_INTERVAL_MS = 100;
const IDLE_MS = 3_000;
/** The API processes' own user, so that the servers count their statements apart. */
const USER = 'belair_bench';
const PASSWORD = 'bench-pw';

interface Sizes {
  readonly subscribers: number;
  /** The set-ups take turns this many times, so that a busy moment of the machine hits both. */
  readonly rounds: number;
  readonly runsPerRound: number;
}
const FULL: Sizes = { subscribers: 10_000, rounds: 3, runsPerRound: 2 };
const QUICK: Sizes = { subscribers: 100, rounds: 1, runsPerRound: 1 };

const now = () => performance.timeOrigin + performance.now();

interface Side {
  readonly name: string;
  readonly server: Child & { readonly ready: { port: number } };
  readonly client: Child;
}

interface LiveStats {
  readonly poller: {
    readonly polls: number;
    readonly statements: number;
    readonly replicaStatements: number;
  };
}

interface Delivery {
  /** Delivery times by side, ms after the commit. */
  readonly bySide: ReadonlyMap<string, number[]>;
  /** Commit → applied on the replica, ms. */
  readonly lagMs: number;
  readonly missing: number;
}

let localAddressIndex = 0;

async function selectsOf(connection: Connection): Promise<number> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT SELECT_COMMANDS AS n FROM information_schema.USER_STATISTICS WHERE USER = ?',
    [USER],
  );
  return Number(rows[0]?.n ?? 0);
}

export const replicas: Scenario = {
  name: 'replicas',
  async run(context: ScenarioContext) {
    const started = Date.now();
    const sizes = context.quick ? QUICK : FULL;
    context.log('starting a primary and a replica (throwaway mariadbd)');
    const pair = await startReplicationPair();
    const children: Child[] = [];
    try {
      const bench = await createBenchDatabase(pair.primary, 'replicas');
      const db = bench.db;
      await pair.onPrimary(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
      await pair.onPrimary(`GRANT ALL ON \`${db.database}\`.* TO '${USER}'@'%'`);
      await pair.onPrimary(`GRANT SLAVE MONITOR ON *.* TO '${USER}'@'%'`);
      const primary = await bench.connect();
      const replica = await mysql.createConnection(
        connectionOptions({ ...pair.replica, database: db.database }),
      );
      try {
        await createStations(primary, BELGIAN_LAYOUT);
        await loadHistoryAndWindows(primary, 0, WINDOW_END, [
          { end: WINDOW_END, rows: WINDOW_ROWS },
        ]);
        let run = 0;
        const nextRunAt = () => new Date(WINDOW_END.getTime() + run++);
        await callRefresh(primary, nextRunAt());
        await pair.caughtUp(120);
        const cities = Array.from(
          { length: BELGIAN_LAYOUT.cities },
          (_, i) => `City ${String(i + 1).padStart(2, '0')}`,
        );
        const env = serverEnv(
          { ...db, user: USER, password: PASSWORD },
          { POLL_INTERVAL_MS: String(POLL_INTERVAL_MS), MAX_CONNECTIONS: '50000' },
        );
        const replicaEnv = {
          ...env,
          DB_REPLICA_HOSTNAME: pair.replica.host,
          DB_REPLICA_PORT: String(pair.replica.port),
        };

        const open = async (side: Side, count: number) => {
          localAddressIndex += 1;
          await side.client.request(
            'open',
            {
              url: `ws://127.0.0.1:${side.server.ready.port}/graphql`,
              count,
              cities,
              query: SUBSCRIPTION,
              localAddress: `127.1.${1 + Math.floor(localAddressIndex / 250)}.${1 + (localAddressIndex % 250)}`,
              concurrency: 100,
            },
            300_000,
          );
        };

        /** Commits a run on the primary, times its delivery on every side and its replication. */
        const deliver = async (sides: readonly Side[]): Promise<Delivery> => {
          await Promise.all(sides.map((side) => side.client.request('arm')));
          await callRefresh(primary, nextRunAt());
          const committed = now();
          const [[gtid]] = await primary.query<RowDataPacket[]>('SELECT @@last_gtid AS gtid');
          const applied = replica
            .query<RowDataPacket[]>('SELECT MASTER_GTID_WAIT(?, 60) AS waited', [gtid?.gtid])
            .then(() => now());
          const collected = await Promise.all(
            sides.map((side) =>
              side.client.request<{ times: number[]; missing: number; errors: string[] }>(
                'collect',
                { timeoutMs: 60_000 },
                90_000,
              ),
            ),
          );
          const lagMs = (await applied) - committed;
          const bySide = new Map<string, number[]>();
          let missing = 0;
          collected.forEach((delivered, i) => {
            const side = sides[i] as Side;
            if (delivered.errors.length > 0)
              throw new Error(`${side.name}: ${delivered.errors.join('; ')}`);
            missing += delivered.missing;
            bySide.set(side.name, [
              ...(bySide.get(side.name) ?? []),
              ...delivered.times.filter((t) => !Number.isNaN(t)).map((t) => t - committed),
            ]);
          });
          return { bySide, lagMs, missing };
        };

        /** SELECTs per poll on each server, over IDLE_MS without new runs. */
        const statementsPerPoll = async (
          servers: readonly { server: Child; replica: boolean }[],
        ) => {
          const polls = () =>
            Promise.all(
              servers.map(
                async ({ server }) => (await server.request<LiveStats>('liveStats')).poller.polls,
              ),
            );
          const before = await polls();
          const primaryBefore = await selectsOf(primary);
          const replicaBefore = await selectsOf(replica);
          await sleep(IDLE_MS);
          const after = await polls();
          const primaryAfter = await selectsOf(primary);
          const replicaAfter = await selectsOf(replica);
          const pollsOf = (onReplica: boolean) =>
            servers.reduce(
              (sum, { replica: reads }, i) =>
                reads === onReplica ? sum + (after[i] ?? 0) - (before[i] ?? 0) : sum,
              0,
            );
          const perPoll = (selects: number, count: number) => (count === 0 ? 0 : selects / count);
          return {
            primary: perPoll(primaryAfter - primaryBefore, pollsOf(false)),
            replica: perPoll(replicaAfter - replicaBefore, pollsOf(true)),
          };
        };

        interface SetUp {
          readonly label: string;
          readonly sides: readonly Side[];
          readonly servers: readonly { server: Child; replica: boolean }[];
          readonly deliveries: Delivery[];
          perPoll?: { primary: number; replica: number };
        }
        const all = (d: Delivery) => [...d.bySide.values()].flat();
        /** The run with the median p99 over every subscriber, as in the fan-out scenario. */
        const middleOf = (setUp: SetUp) => {
          const ordered = [...setUp.deliveries].sort(
            (a, b) => summarize(all(a)).p99 - summarize(all(b)).p99,
          );
          const middle = ordered[Math.floor(ordered.length / 2)] as Delivery;
          return { middle, summary: summarize(all(middle)) };
        };

        // Two subscriber processes in both set-ups, so that only the servers differ; three API
        // processes, of which only those of the set-up measured have subscribers (an API process
        // without subscribers neither polls nor works).
        const clients = [
          await startChild('clients/subscribers.ts'),
          await startChild('clients/subscribers.ts'),
        ] as const;
        children.push(...clients);
        const startServer = async (serverEnvironment: Record<string, string>) => {
          const server = await startChild<{ port: number }>('servers/api-server.ts', {
            env: serverEnvironment,
          });
          children.push(server);
          return server;
        };
        const alone = await startServer(env);
        const onPrimary = await startServer(env);
        const onReplica = await startServer(replicaEnv);
        const routing = await onReplica.request<{ serving: string }>('readRouting');
        if (routing.serving !== 'replica') {
          throw new Error(`the replica-side process reads the ${routing.serving}, not the replica`);
        }
        const single: SetUp = {
          label: 'one process',
          sides: clients.map((client) => ({ name: 'one process', server: alone, client })),
          servers: [{ server: alone, replica: false }],
          deliveries: [],
        };
        const split: SetUp = {
          label: 'two processes',
          sides: [
            { name: 'primary-side process', server: onPrimary, client: clients[0] },
            { name: 'replica-side process', server: onReplica, client: clients[1] },
          ],
          servers: [
            { server: onPrimary, replica: false },
            { server: onReplica, replica: true },
          ],
          deliveries: [],
        };
        const each = sizes.subscribers / 2;
        for (let round = 1; round <= sizes.rounds; round += 1) {
          for (const setUp of [single, split]) {
            context.log(
              `round ${round}: ${setUp.label}, ${sizes.subscribers} subscribers (${each} per subscriber process)`,
            );
            for (const side of setUp.sides) await open(side, each);
            setUp.perPoll ??= await statementsPerPoll(setUp.servers);
            for (let run = 0; run < sizes.runsPerRound; run += 1) {
              setUp.deliveries.push(await deliver(setUp.sides));
              await sleep(500);
            }
            for (const side of setUp.sides) await side.client.request('close', {}, 120_000);
            const { summary } = middleOf(setUp);
            context.log(
              `${setUp.label} so far: p50 ${summary.p50.toFixed(0)} ms, p99 ${summary.p99.toFixed(0)} ms`,
            );
          }
        }
        const singleResult = {
          ...middleOf(single),
          perPoll: single.perPoll ?? { primary: 0, replica: 0 },
        };
        const splitResult = {
          ...middleOf(split),
          perPoll: split.perPoll ?? { primary: 0, replica: 0 },
        };
        const replicaStats = await onReplica.request<LiveStats>('liveStats');
        const replicaSide = summarize(splitResult.middle.bySide.get('replica-side process') ?? []);
        const primarySide = summarize(splitResult.middle.bySide.get('primary-side process') ?? []);
        const lags = summarize(split.deliveries.map((d) => d.lagMs));
        const judge = !context.quick;
        const n = (count: number) => count.toLocaleString('en-US');
        const figures: Figure[] = [
          figure({
            measure: `two processes (one on the replica), ${n(sizes.subscribers / 2)} subscribers each: p99 delivery`,
            value: splitResult.summary.p99,
            unit: 'ms',
            baseline: {
              measure: `one process, ${n(sizes.subscribers)}`,
              value: singleResult.summary.p99,
            },
            ratioAtMost: 1,
            judge,
          }),
          figure({
            measure: 'two processes: p50 delivery',
            value: splitResult.summary.p50,
            unit: 'ms',
            baseline: { measure: 'one process', value: singleResult.summary.p50 },
            judge,
          }),
          figure({
            measure: 'two processes: p99 delivery, primary-side subscribers',
            value: primarySide.p99,
            unit: 'ms',
            judge,
          }),
          figure({
            measure: 'two processes: p99 delivery, replica-side subscribers',
            value: replicaSide.p99,
            unit: 'ms',
            judge,
          }),
          figure({
            measure: 'replication lag, commit to applied on the replica (median of runs)',
            value: lags.p50,
            unit: 'ms',
            judge,
          }),
          figure({
            measure: "replication lag's share of the replica-side p50 delivery",
            value: (100 * splitResult.middle.lagMs) / replicaSide.p50,
            unit: '%',
            judge,
          }),
          figure({
            measure: 'SQL statements per poll on the primary (primary-side process)',
            value: splitResult.perPoll.primary,
            unit: '',
            baseline: { measure: 'one process', value: singleResult.perPoll.primary },
            ratioAtMost: 1.1,
            judge,
          }),
          figure({
            measure: 'SQL statements per poll on the replica (replica-side process)',
            value: splitResult.perPoll.replica,
            unit: '',
            judge,
          }),
          figure({
            measure: "replica-side process: share of its poller's statements the replica answered",
            value: (100 * replicaStats.poller.replicaStatements) / replicaStats.poller.statements,
            unit: '%',
            judge,
          }),
        ];
        return {
          scenario: 'replicas',
          title: '7. Replicas: subscribers split over two processes, one reading a replica',
          figures,
          notes: [
            'A throwaway primary (row-based binlog) and replica on this machine, replicating by GTID; ' +
              `both API processes and both subscriber processes on the same ${BELGIAN_LAYOUT.cities} cities, ` +
              `polling every ${POLL_INTERVAL_MS} ms (the default is 1,000 ms). A delivery is timed from the ` +
              'return of the CALL that committed the run on the primary to its arrival at a subscriber; ' +
              `the set-ups take turns ${sizes.rounds} times, ${sizes.runsPerRound} runs each time, so that a busy moment ` +
              'of the machine hits both; the run with the median p99 of each set-up is reported. The baseline has the same ' +
              'two subscriber processes, both on the one API process; the API processes of the set-up not measured ' +
              'have no subscribers, and so neither poll nor work. The lag is the time from that ' +
              'commit until MASTER_GTID_WAIT on the replica returned for its GTID. Statements per poll: ' +
              `each server's per-user statistics (SELECTs of the API processes' own user) over ${IDLE_MS / 1000} s ` +
              "without new runs, divided by the polls of the processes reading that server; the router's " +
              'SHOW SLAVE STATUS (once a second) is not a SELECT and is not counted.',
            'What the split can show depends on the cores: here both API processes, both subscriber ' +
              'processes and both MariaDB servers share the machine, so the two fan-outs of one run ' +
              'overlap on the same cores, and the process that learns of the run later (its poll comes ' +
              'later, or the replica applies the run later) finishes later. The share of the lag shows ' +
              'how little of a replica-side delivery is replication itself.',
            `All figures: one process p50/p99/max ${singleResult.summary.p50.toFixed(0)}/${singleResult.summary.p99.toFixed(0)}/${singleResult.summary.max.toFixed(0)} ms; ` +
              `two processes p50/p99/max ${splitResult.summary.p50.toFixed(0)}/${splitResult.summary.p99.toFixed(0)}/${splitResult.summary.max.toFixed(0)} ms ` +
              `(primary side p50/p99 ${primarySide.p50.toFixed(0)}/${primarySide.p99.toFixed(0)}, replica side ${replicaSide.p50.toFixed(0)}/${replicaSide.p99.toFixed(0)}); ` +
              `lag per run ${split.deliveries.map((d) => d.lagMs.toFixed(1)).join(', ')} ms; ` +
              `missing deliveries ${[...single.deliveries, ...split.deliveries].reduce((sum, d) => sum + d.missing, 0)}.`,
          ],
          seconds: (Date.now() - started) / 1000,
        };
      } finally {
        await primary.end();
        await replica.end();
        await bench.drop();
      }
    } finally {
      for (const child of children) await child.stop();
      await pair.stop();
    }
  },
};
