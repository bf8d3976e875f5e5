import { createGraphqlClient } from '../client/graphql-client.js';
import { readLegacyConfig } from '../config/legacy-config.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { refreshAirQuality } from '../db/runs.js';
import { ingestMeasurements } from '../ingest/ingest-measurements.js';
import {
  createMeasurementGenerator,
  type MeasurementGenerator,
  SERIES,
} from '../sources/generator/generate.js';
import {
  type GeneratorClock,
  type GeneratorTotals,
  type MeasurementSink,
  runBackfill,
  runGenerator,
} from '../sources/generator/run-generator.js';
import { clock, formatCount, formatReasons, formatTable } from './format.js';
import {
  argumentsOrExit,
  DEFAULT_ENDPOINT,
  isEntryPoint,
  parseCommandLine,
  positiveNumber,
  runUntilInterrupted,
  type ScriptIo,
  UsageError,
  WRITE_OPTIONS,
  type WriteTarget,
  wholeNumber,
  writeTarget,
} from './options.js';

const USAGE = `Usage: npm run generate-test-data -- [perMinute] [dbConfigFile] [options]

Generates measurements that look like Belgium's stations (Genk, Diepenbeek, Leuven, Antwerpen,
Hasselt, Brussel, Gent, Landen; seven pollutants with a daily cycle; some late, some repeated)
at perMinute measurements a minute (default 100), until Ctrl-C.

With dbConfigFile (the original project's DB_USERNAME = "...", DB_PASSWORD = "...",
DB_HOSTNAME = "...", optionally DB_PORT and DB_DATABASE) it writes straight into that database
through belair's ingestion; without it, it sends batches to the API's ingestMeasurements.

Options:
  --endpoint <url>      the API (default ${DEFAULT_ENDPOINT})
  --token <token>       bearer token for writes (default: the first of API_TOKENS)
  --backfill <hours>    first fill the past hours at once, then refresh the window
  --duration <seconds>  stop by itself after this long (0: only the backfill)
  --seed <text>         the same seed makes the same stations, values, delays and repeats
  --batch-size <n>      measurements per request, 1-10000 (default 1000)
  -h, --help            this text

Exit status: 0 when everything generated was stored; 1 when something was rejected or could
not be sent; 2 on a usage error.`;

export interface GenerateArguments extends WriteTarget {
  readonly perMinute: number;
  readonly dbConfigFile: string | undefined;
  readonly backfillHours: number | undefined;
  readonly durationSeconds: number | undefined;
  readonly seed: string | undefined;
}

export function parseGenerateArguments(
  argv: string[],
  env: Record<string, string | undefined>,
): GenerateArguments | 'help' {
  const { values, positionals } = parseCommandLine(argv, {
    allowPositionals: true,
    options: {
      ...WRITE_OPTIONS,
      backfill: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 2) {
    throw new UsageError(
      `expected at most [perMinute] [dbConfigFile], got ${positionals.join(' ')}`,
    );
  }
  const [rate, dbConfigFile] = positionals;
  return {
    perMinute: rate === undefined ? 100 : positiveNumber('perMinute', rate, 6_000_000),
    dbConfigFile,
    ...writeTarget(values, env),
    backfillHours:
      values.backfill === undefined
        ? undefined
        : positiveNumber('--backfill', values.backfill, 24 * 31),
    durationSeconds:
      values.duration === undefined
        ? undefined
        : wholeNumber('--duration', values.duration, 0, 365 * 24 * 3600),
    seed: values.seed,
  };
}

export interface GenerateIo extends ScriptIo {
  /** The generator's time; the real one unless a test hands in its own. */
  readonly clock?: GeneratorClock;
}

interface Sink extends MeasurementSink {
  readonly target: string;
  close(): Promise<void>;
}

async function databaseSink(file: string): Promise<Sink> {
  const db = await readLegacyConfig(file);
  // The tables may not exist yet; sql/ is idempotent. The global event scheduler is the API's
  // and the operator's business, not a test-data script's.
  await migrate(db, { ensureEventScheduler: false });
  const pool = createPool(db, 2);
  return {
    target: `database ${db.database} on ${db.host}:${db.port}`,
    ingest: (items) => ingestMeasurements(pool, items),
    refresh: async () => {
      const connection = await pool.getConnection();
      try {
        await refreshAirQuality(connection, { at: new Date(), waitSeconds: 10 });
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}

function apiSink(args: GenerateArguments, say: (text: string) => void): Sink {
  const client = createGraphqlClient({
    endpoint: args.endpoint,
    token: args.token,
    onRetry: ({ attempt, delayMs, error }) =>
      say(`request failed (${error.message}); retry ${attempt} in ${delayMs} ms\n`),
  });
  return {
    target: args.endpoint,
    ingest: (items) => client.ingestMeasurements(items),
    refresh: async () => {
      await client.refreshAirQuality();
    },
    close: async () => {},
  };
}

function outcome(totals: GeneratorTotals): string {
  return [
    `${formatCount(totals.inserted)} inserted`,
    `${formatCount(totals.updated)} updated`,
    `${formatCount(totals.unchanged)} unchanged`,
    `${formatCount(totals.rejected)} rejected`,
    ...(totals.failed > 0 ? [`${formatCount(totals.failed)} not sent`] : []),
  ].join(', ');
}

export interface GenerateReport {
  readonly seed: string;
  readonly backfill?: GeneratorTotals;
  readonly live?: GeneratorTotals;
  /** Everything generated was sent, stored and nothing rejected. */
  readonly ok: boolean;
}

/** The script itself, on parsed arguments: backfill, then live, printing progress and summaries. */
export async function generateTestData(
  args: GenerateArguments,
  io: GenerateIo,
): Promise<GenerateReport> {
  const sink = args.dbConfigFile
    ? await databaseSink(args.dbConfigFile)
    : apiSink(args, (text) => io.stderr.write(text));
  const generator = createMeasurementGenerator(args.seed === undefined ? {} : { seed: args.seed });
  const signal = io.signal ? { signal: io.signal } : {};
  const time = io.clock ? { clock: io.clock } : {};
  let backfill: GeneratorTotals | undefined;
  let live: GeneratorTotals | undefined;
  try {
    const stations = new Set(SERIES.map((s) => s.station.code)).size;
    io.stdout.write(
      `${SERIES.length} series at ${stations} stations in 8 cities, into ${sink.target}, seed ${generator.seed}\n`,
    );
    if (args.backfillHours !== undefined) {
      backfill = await runBackfill({
        generator,
        sink,
        hours: args.backfillHours,
        perMinute: args.perMinute,
        seriesCount: SERIES.length,
        batchSize: args.batchSize,
        ...signal,
        ...time,
      });
      const refreshed = sink.refresh && backfill.lastError === undefined && backfill.sent > 0;
      const lines = [
        `backfill of ${args.backfillHours} h: ${formatCount(backfill.sent)} sent (${outcome(backfill)})${refreshed ? ', window refreshed' : ''}`,
        ...formatReasons(backfill.reasons, '    '),
      ];
      if (backfill.lastError) lines.push(`  last error: ${backfill.lastError}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    if (args.durationSeconds !== 0 && io.signal?.aborted !== true) {
      io.stdout.write(
        `live at ${formatCount(args.perMinute)}/min${args.durationSeconds === undefined ? ' until Ctrl-C' : ` for ${args.durationSeconds} s`}\n`,
      );
      live = await runGenerator({
        generator,
        sink,
        perMinute: args.perMinute,
        batchSize: args.batchSize,
        ...(args.durationSeconds === undefined ? {} : { durationMs: args.durationSeconds * 1000 }),
        ...signal,
        ...time,
        onProgress: (totals) =>
          io.stdout.write(
            `${clock()} ${formatCount(totals.generated)} generated (${formatCount(Math.round((totals.generated * 60_000) / totals.elapsedMs))}/min), ${formatCount(totals.sent)} sent (${outcome(totals)})\n`,
          ),
      });
      io.stdout.write(formatLiveSummary(live, args.perMinute, generator));
    }
  } finally {
    await sink.close();
  }
  const clean = (totals: GeneratorTotals | undefined) =>
    totals === undefined ||
    (totals.failed === 0 && totals.rejected === 0 && totals.lastError === undefined);
  return {
    seed: generator.seed,
    ...(backfill ? { backfill } : {}),
    ...(live ? { live } : {}),
    ok: clean(backfill) && clean(live),
  };
}

function formatLiveSummary(
  live: GeneratorTotals,
  perMinute: number,
  generator: MeasurementGenerator,
): string {
  const made = generator.made;
  const lines = [
    'generate-test-data summary',
    ...formatTable([
      ['seed', generator.seed],
      ['ran', `${(live.elapsedMs / 1000).toFixed(1)} s`],
      [
        'rate',
        `${formatCount(Math.round(live.achievedPerMinute))}/min achieved, ${formatCount(perMinute)}/min asked`,
      ],
      [
        'generated',
        `${formatCount(live.generated)} (${formatCount(made.fresh)} fresh, ${formatCount(made.late)} late, ${formatCount(made.repeat)} repeated, ${formatCount(made.correction)} corrected)`,
      ],
      ['sent', `${formatCount(live.sent)} (${outcome(live)})`],
      ...formatReasons(live.reasons, '    '),
      ...(live.skipped > 0
        ? [['skipped', `${formatCount(live.skipped)}: the target could not keep up`] as const]
        : []),
      ...(live.lastError ? [['last error', live.lastError] as const] : []),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[], io: GenerateIo): Promise<number> {
  const args = argumentsOrExit(() => parseGenerateArguments(argv, io.env), USAGE, io);
  if ('exitCode' in args) return args.exitCode;
  try {
    return (await generateTestData(args, io)).ok ? 0 : 1;
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  await runUntilInterrupted('stopping: sending what was generated', main);
}
