import { randomBytes } from 'node:crypto';
import { createLogger } from 'graphql-yoga';
import { createGraphqlClient } from '../client/graphql-client.js';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { type MigrateResult, migrate } from '../db/migrate.js';
import { createApiPool } from '../db/pool.js';
import { buildApp } from '../server/app.js';
import { buildDashboard } from '../server/dashboard-build.js';
import { createMeasurementGenerator, SERIES } from '../sources/generator/generate.js';
import { runBackfill, runGenerator } from '../sources/generator/run-generator.js';
import { withScriptDatabase } from './database.js';
import { feed, parseFeedArguments } from './feed.js';
import { clock, formatCount } from './format.js';
import {
  argumentsOrExit,
  isEntryPoint,
  parseCommandLine,
  positiveNumber,
  runUntilInterrupted,
  type ScriptIo,
  UsageError,
  wholeNumber,
} from './options.js';

const USAGE = `Usage: npm run demo -- [options]

One command for a first look: applies sql/ to the database of the DB_* variables (openaq on
127.0.0.1:3306 as root by default; with nothing configured and nothing answering there, a
MariaDB of its own under .data/), starts the API on PORT (default 4000), fills the last hours
with generated measurements, then keeps generating at a visible rate and refreshes the windows
every few seconds, so that they move while you watch them in GraphiQL. Ctrl-C stops everything.

With --feed irceline (or openaq, with OPENAQ_API_KEY) it shows real data instead: the feed polls
the upstream API into the demo's API (the last 3 hours at once, then every interval) and the
windows are refreshed after each poll. That needs a machine with internet access; the upstream's
base URL is IRCELINE_API_URL or OPENAQ_API_URL, as for npm run feed.

Options:
  --feed <irceline|openaq> real data from that upstream instead of generated data
  --rate <perMinute>       live measurements a minute (default 600)
  --refresh-every <s>      seconds between two refreshAirQuality calls (default 20)
  --backfill <hours>       hours filled at the start (default 3); past 3, with a window every
                           30 minutes of history
  --seed <text>            the generator's seed (default: a random one)
  --duration <seconds>     stop by itself after this long (default: at Ctrl-C)
  -h, --help               this text`;

export interface DemoArguments {
  readonly perMinute: number;
  readonly refreshEverySeconds: number;
  readonly backfillHours: number;
  readonly seed: string | undefined;
  readonly durationSeconds: number | undefined;
  readonly feed: 'irceline' | 'openaq' | undefined;
}

export function parseDemoArguments(argv: string[]): DemoArguments | 'help' {
  const { values } = parseCommandLine(argv, {
    options: {
      rate: { type: 'string', default: '600' },
      'refresh-every': { type: 'string', default: '20' },
      backfill: { type: 'string', default: '3' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      feed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (values.feed !== undefined && values.feed !== 'irceline' && values.feed !== 'openaq') {
    throw new UsageError(`--feed is irceline or openaq, got "${values.feed}"`);
  }
  return {
    feed: values.feed,
    perMinute: positiveNumber('--rate', values.rate, 600_000),
    refreshEverySeconds: wholeNumber('--refresh-every', values['refresh-every'], 1, 3600),
    backfillHours: positiveNumber('--backfill', values.backfill, 24 * 31),
    seed: values.seed,
    durationSeconds:
      values.duration === undefined
        ? undefined
        : wholeNumber('--duration', values.duration, 1, 365 * 24 * 3600),
  };
}

export type DemoIo = ScriptIo;

const FIRST_QUERY = `{ airQuality { city { name } belaqi eaqi windowEnd
    pollutants { parameter average count latestMeasuredAt } } }`;

export async function main(argv: string[], io: DemoIo): Promise<number> {
  const args = argumentsOrExit(() => parseDemoArguments(argv), USAGE, io);
  if ('exitCode' in args) return args.exitCode;
  let config: Config;
  try {
    // The demo fills its database through its own API as fast as it can: no per-token write rate
    // limit unless the environment asks for one.
    // Writes need a token; without API_TOKENS the demo makes one up for this run, long enough
    // for production mode. The demo serves writes: its tokens are checked as npm start's are.
    const given = (io.env.API_TOKENS ?? '').split(',').some((t) => t.trim() !== '');
    const madeUp = `demo-${randomBytes(16).toString('hex')}`;
    config = loadConfig(
      { WRITE_RATE_LIMIT: '0', ...io.env, API_TOKENS: given ? io.env.API_TOKENS : madeUp },
      { server: true },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 2;
  }
  return withScriptDatabase(
    config,
    io,
    (db) => demo({ ...config, db }, args, io),
    () => `${clock()} `,
  );
}

/** Minutes between two windows of the history a long backfill gets. */
const HISTORY_STEP_MINUTES = 30;

/**
 * Past windows over a backfill longer than one window: runs at past instants (refreshAirQuality
 * with `at`), which add to history without changing what is current, so that City.history (the
 * dashboard's 24-hour lines) has something to show from the start.
 */
async function fillHistory(
  client: ReturnType<typeof createGraphqlClient>,
  hours: number,
  say: (text: string) => void,
  io: DemoIo,
): Promise<boolean> {
  const step = HISTORY_STEP_MINUTES * 60_000;
  const now = Date.now();
  const instants: Date[] = [];
  for (let at = now - (hours - 3) * 3_600_000; at < now - step / 2; at += step) {
    instants.push(new Date(Math.floor(at / 60_000) * 60_000));
  }
  try {
    for (const at of instants) await client.refreshAirQuality(at);
  } catch (error) {
    io.stderr.write(`history: ${(error as Error).message}\n`);
    return false;
  }
  say(
    `${clock()} history: ${instants.length} past windows, one every ${HISTORY_STEP_MINUTES} minutes of the backfill\n`,
  );
  return true;
}

async function demo(config: Config, args: DemoArguments, io: DemoIo): Promise<number> {
  // main() made sure there is one (a made-up one without API_TOKENS).
  const token = config.apiTokens[0] as string;
  const say = (text: string) => io.stdout.write(text);

  let migration: MigrateResult;
  try {
    migration = await migrate(config.db);
  } catch (error) {
    io.stderr.write(
      `cannot prepare database ${config.db.database} on ${config.db.host}:${config.db.port}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  if (migration.warning) io.stderr.write(`${migration.warning}\n`);
  let dashboardProblem: string | null = null;
  try {
    await buildDashboard();
  } catch (error) {
    dashboardProblem = (error as Error).message;
    io.stderr.write(`the dashboard could not be built: ${dashboardProblem}\n`);
  }
  const pool = createApiPool(config);
  const app = buildApp({ pool, config, logger: createLogger('warn') });
  let ok = true;
  try {
    const { port } = await app.start(config.port);
    const endpoint = `http://localhost:${port}/graphql`;
    say(
      [
        '',
        'belair demo',
        `  dashboard http://localhost:${port}/${dashboardProblem ? ' (not built, see above)' : ''}`,
        `  GraphiQL  ${endpoint}`,
        `  token     ${token}`,
        `            (GraphiQL, Headers tab: {"Authorization": "Bearer ${token}"})`,
        `  database  ${config.db.database} on ${config.db.host}:${config.db.port}`,
        '  first look, in GraphiQL:',
        `    ${FIRST_QUERY.replace(/\n\s*/g, ' ')}`,
        '',
        '',
      ].join('\n'),
    );
    if (args.feed) return await demoFeed(args.feed, { endpoint, token, args, io });
    const client = createGraphqlClient({ endpoint, token });
    const generator = createMeasurementGenerator(
      args.seed === undefined ? {} : { seed: args.seed },
    );
    const refresh = async () => {
      const run = await client.refreshAirQuality();
      say(
        `${clock()} windows refreshed: run ${run.id}, ${formatCount(run.measurements)} measurements in ${run.cities} cities\n`,
      );
    };
    const sink = { ingest: client.ingestMeasurements, refresh };
    const signal = io.signal ? { signal: io.signal } : {};

    say(`${clock()} filling the last ${args.backfillHours} h of ${SERIES.length} series…\n`);
    const backfill = await runBackfill({
      generator,
      sink,
      hours: args.backfillHours,
      perMinute: args.perMinute,
      seriesCount: SERIES.length,
      ...signal,
    });
    say(
      `${clock()} backfill: ${formatCount(backfill.sent)} measurements over the last ${args.backfillHours} h (${formatCount(backfill.inserted)} new)\n`,
    );
    if (backfill.lastError) {
      io.stderr.write(`backfill: ${backfill.lastError}\n`);
      ok = false;
    }
    if (args.backfillHours > 3 && !backfill.lastError) {
      ok = (await fillHistory(client, args.backfillHours, say, io)) && ok;
    }

    say(
      `${clock()} live at ${formatCount(args.perMinute)}/min, windows refreshed every ${args.refreshEverySeconds} s; Ctrl-C to stop\n`,
    );
    let refreshing: Promise<void> | undefined;
    const timer = setInterval(() => {
      refreshing ??= refresh()
        .catch((error: Error) => {
          io.stderr.write(`refresh failed: ${error.message}\n`);
        })
        .finally(() => {
          refreshing = undefined;
        });
    }, args.refreshEverySeconds * 1000);
    try {
      const live = await runGenerator({
        generator,
        sink,
        perMinute: args.perMinute,
        ...(args.durationSeconds === undefined ? {} : { durationMs: args.durationSeconds * 1000 }),
        ...signal,
        progressIntervalMs: 10_000,
        onProgress: (totals) =>
          say(
            `${clock()} ${formatCount(totals.sent)} measurements sent (${formatCount(totals.inserted)} new)\n`,
          ),
      });
      say(
        `${clock()} stopped: ${formatCount(live.sent)} live measurements sent (${formatCount(live.inserted)} new, ${formatCount(live.rejected)} rejected)\n`,
      );
      ok &&= live.failed === 0 && live.rejected === 0;
    } finally {
      clearInterval(timer);
      await refreshing;
    }
  } finally {
    await app.stop();
    await pool.end();
  }
  return ok ? 0 : 1;
}

/** The demo on real data: the feed into the demo's own API, until Ctrl-C or --duration. */
async function demoFeed(
  name: 'irceline' | 'openaq',
  run: { endpoint: string; token: string; args: DemoArguments; io: DemoIo },
): Promise<number> {
  const { io, args } = run;
  // The first poll fills the last --backfill hours, as the generator would (a week at most).
  const since = `${Math.min(args.backfillHours, 7 * 24)}h`;
  const feedArgs = parseFeedArguments(
    [name, '--endpoint', run.endpoint, '--token', run.token, '--since', since],
    io.env,
  );
  if (feedArgs === 'help') return 0;
  const signals = [
    ...(io.signal ? [io.signal] : []),
    ...(args.durationSeconds === undefined
      ? []
      : [AbortSignal.timeout(args.durationSeconds * 1000)]),
  ];
  io.stdout.write(
    `${clock()} real data from ${name} (${feedArgs.baseUrl}) every ${feedArgs.interval}; Ctrl-C to stop\n`,
  );
  return feed(feedArgs, {
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
  });
}

if (isEntryPoint(import.meta.url)) {
  await runUntilInterrupted('stopping the generator and the API', main);
}
