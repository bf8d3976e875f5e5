import { MultiBar, Presets } from 'cli-progress';
import { createGraphqlClient } from '../client/graphql-client.js';
import { ConfigError } from '../config/config.js';
import { readLegacyConfig } from '../config/legacy-config.js';
import { apiStore } from '../sources/feed/api-store.js';
import { databaseStore } from '../sources/feed/database-store.js';
import type { FeedStore } from '../sources/feed/feed-store.js';
import type { FeedName, FeedSource, PollContext } from '../sources/feed/poll.js';
import { RateBudget } from '../sources/feed/rate-budget.js';
import { MAX_RESUME_MS, runFeed } from '../sources/feed/run-feed.js';
import { createUpstreamClient } from '../sources/feed/upstream-client.js';
import { createIrcelineSource, DEFAULT_IRCELINE_URL } from '../sources/irceline/irceline-source.js';
import {
  createOpenaqSource,
  DEFAULT_OPENAQ_URL,
  OPENAQ_KEY_URL,
} from '../sources/openaq/openaq-source.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { parseInstant } from '../util/parse-instant.js';
import { formatPollSummary } from './feed-summary.js';
import {
  argumentsOrExit,
  DEFAULT_ENDPOINT,
  isEntryPoint,
  parseCommandLine,
  UsageError,
  WRITE_OPTIONS,
  type WriteTarget,
  wholeNumber,
  writeTarget,
} from './options.js';

const USAGE = `Usage: npm run feed -- <irceline|openaq> [dbConfigFile] [options]

Polls an upstream API for the latest measurements of Belgian stations and stores them through
belair's ingestion, until Ctrl-C or SIGTERM (or once, with --once):
  irceline  IRCEL-CELINE's timeseries API, Belgium's own network; no key; CC BY 4.0
  openaq    OpenAQ API v3; needs a free key (${OPENAQ_KEY_URL}); each provider's licence

The first poll reaches back --since; after that each series is asked only for what is newer than
what was fetched before, as the database keeps it (feedProgress), so that a restart neither
downloads again what is stored nor leaves a hole. After a poll that stored something the windows
are refreshed at once.

With dbConfigFile (the original project's DB_USERNAME = "...", DB_PASSWORD = "...",
DB_HOSTNAME = "...", optionally DB_PORT and DB_DATABASE) it writes straight into that database;
without it, it sends batches to the API's ingestMeasurements.

Options:
  --once                       poll once and exit (for cron and tests)
  --interval <duration>        between polls: 90s, 10m, 1h (default 10m irceline, 15m openaq)
  --since <duration|instant>   how far back the first poll reaches (default 3h), or an
                               instant such as 2026-11-21T09:00:00Z
  --base-url <url>             the upstream API (default IRCELINE_API_URL or
                               ${DEFAULT_IRCELINE_URL}; OPENAQ_API_URL or ${DEFAULT_OPENAQ_URL})
  --api-key <key>              OpenAQ's key (default OPENAQ_API_KEY)
  --max-requests-per-minute <n>
                               OpenAQ requests a minute at most, 1-600 (default 50; a free key
                               allows 60 a minute and 2,000 an hour)
  --timeout <duration>         per upstream request (default 30s)
  --retries <n>                retries of an upstream 5xx, reset or timeout (default 3)
  --endpoint <url>             the API (default ${DEFAULT_ENDPOINT})
  --token <token>              bearer token for writes (default: the first of API_TOKENS)
  --batch-size <n>             measurements per ingestion request, 1-10000 (default 1000)
  -h, --help                   this text

Each poll prints one summary line (stations, series, fetched, new, updated, unchanged, rejected,
skipped, not fetched, requests; for openaq the rate budget left), then the reasons; problems go
to standard error.

Exit status: 0 when everything fetched was stored or deliberately skipped; 1 when something was
rejected or could not be fetched or stored; 2 on a usage error, a missing key or a key the
upstream refuses.`;

export interface FeedArguments extends WriteTarget {
  readonly feed: FeedName;
  readonly dbConfigFile: string | undefined;
  readonly once: boolean;
  readonly intervalMs: number;
  readonly interval: string;
  readonly since: (now: Date) => Date;
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly maxRequestsPerMinute: number;
  readonly timeoutMs: number;
  readonly retries: number;
}

const DEFAULT_INTERVAL: Readonly<Record<FeedName, string>> = { irceline: '10m', openaq: '15m' };

function duration(name: string, text: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(text);
  if (ms === null || ms < minMs || ms > maxMs) {
    throw new UsageError(
      `${name} must be a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)} such as 90s, 10m or 1h, got "${text}"`,
    );
  }
  return ms;
}

/** --since: a duration back from each poll's start, or a fixed instant. */
function since(text: string): (now: Date) => Date {
  const ms = parseDuration(text);
  if (ms !== null) {
    if (ms > MAX_RESUME_MS) {
      throw new UsageError(
        `--since reaches at most ${formatDuration(MAX_RESUME_MS)} back, got "${text}"`,
      );
    }
    return (now) => new Date(now.getTime() - ms);
  }
  const parsed = parseInstant(text);
  if (!parsed.ok) {
    throw new UsageError(
      `--since must be a duration such as 3h or an instant such as 2026-11-21T09:00:00Z; "${text}" ${parsed.problem}`,
    );
  }
  return () => parsed.date;
}

function baseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `the upstream base URL must be a URL such as ${DEFAULT_IRCELINE_URL}, got "${text}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the upstream base URL must be http or https, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

export function parseFeedArguments(
  argv: string[],
  env: Record<string, string | undefined>,
): FeedArguments | 'help' {
  const { values, positionals } = parseCommandLine(argv, {
    allowPositionals: true,
    options: {
      once: { type: 'boolean', default: false },
      interval: { type: 'string' },
      since: { type: 'string', default: '3h' },
      'base-url': { type: 'string' },
      'api-key': { type: 'string' },
      'max-requests-per-minute': { type: 'string', default: '50' },
      timeout: { type: 'string', default: '30s' },
      retries: { type: 'string', default: '3' },
      ...WRITE_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const [feed, dbConfigFile, ...rest] = positionals;
  if (feed !== 'irceline' && feed !== 'openaq') {
    throw new UsageError(
      feed === undefined
        ? 'which feed? irceline or openaq'
        : `the feed is irceline or openaq, got "${feed}"`,
    );
  }
  if (rest.length > 0) {
    throw new UsageError(`expected <feed> [dbConfigFile], got ${positionals.join(' ')}`);
  }
  const interval = values.interval ?? DEFAULT_INTERVAL[feed];
  const fromEnv = feed === 'irceline' ? env.IRCELINE_API_URL : env.OPENAQ_API_URL;
  const fallback = feed === 'irceline' ? DEFAULT_IRCELINE_URL : DEFAULT_OPENAQ_URL;
  const apiKey = values['api-key'] ?? env.OPENAQ_API_KEY;
  return {
    feed,
    dbConfigFile,
    once: values.once,
    intervalMs: duration('--interval', interval, 1000, 24 * 3_600_000),
    interval,
    since: since(values.since),
    baseUrl: baseUrl(values['base-url'] ?? (fromEnv?.trim() || fallback)),
    apiKey: apiKey?.trim() || undefined,
    maxRequestsPerMinute: wholeNumber(
      '--max-requests-per-minute',
      values['max-requests-per-minute'],
      1,
      600,
    ),
    timeoutMs: duration('--timeout', values.timeout, 100, 600_000),
    retries: wholeNumber('--retries', values.retries, 0, 20),
    ...writeTarget(values, env, { throughApi: dbConfigFile === undefined }),
  };
}

export interface FeedIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Record<string, string | undefined>;
  /** Ctrl-C or SIGTERM: finish the poll under way, print its summary, stop. */
  readonly signal?: AbortSignal;
}

/** The feed itself on parsed arguments; resolves to its exit status. */
export async function feed(args: FeedArguments, io: FeedIo): Promise<number> {
  if (args.feed === 'openaq' && args.apiKey === undefined) {
    io.stderr.write(
      `OpenAQ API v3 needs a key: set OPENAQ_API_KEY or pass --api-key. A free key comes with an account at ${OPENAQ_KEY_URL} (Settings, API key).\n`,
    );
    return 2;
  }
  const bars = io.stderr.isTTY
    ? new MultiBar(
        {
          stream: io.stderr,
          format: `${args.feed} [{bar}] {value}/{total} requests`,
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  let active: ReturnType<MultiBar['create']> | undefined;
  const say = (text: string) => (active && bars ? bars.log(text) : io.stderr.write(text));
  const report = (message: string) => say(`${message}\n`);

  let store: FeedStore;
  try {
    if (args.dbConfigFile !== undefined) {
      store = await databaseStore(await readLegacyConfig(args.dbConfigFile));
    } else {
      const client = createGraphqlClient({
        endpoint: args.endpoint,
        token: args.token,
        // Not stopped by Ctrl-C: what was fetched is still stored.
        onRetry: ({ attempt, delayMs, error }) =>
          report(`belair API: ${error.message}; retry ${attempt} in ${delayMs} ms`),
      });
      store = apiStore(client, args.endpoint);
    }
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    const code = (error as { code?: unknown }).code;
    return error instanceof ConfigError || code === 'ENOENT' ? 2 : 1;
  }

  const budget = new RateBudget(args.maxRequestsPerMinute);
  const upstream = createUpstreamClient({
    name: args.feed === 'irceline' ? 'IRCEL-CELINE' : 'OpenAQ',
    baseUrl: args.baseUrl,
    headers: args.feed === 'openaq' && args.apiKey ? { 'X-API-Key': args.apiKey } : {},
    timeoutMs: args.timeoutMs,
    retries: args.retries,
    ...(args.feed === 'openaq' ? { budget } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    onRetry: report,
  });
  const source: FeedSource =
    args.feed === 'irceline'
      ? createIrcelineSource(upstream)
      : createOpenaqSource(upstream, budget);

  io.stdout.write(
    `feed ${args.feed}: ${args.baseUrl} into ${store.target}, ${args.once ? 'once' : `every ${args.interval} until Ctrl-C`}\n`,
  );
  try {
    const run = await runFeed({
      source,
      store,
      intervalMs: args.intervalMs,
      interval: args.interval,
      once: args.once,
      since: args.since,
      maxResumeMs: MAX_RESUME_MS,
      batchSize: args.batchSize,
      ...(io.signal ? { signal: io.signal } : {}),
      report,
      ...(bars
        ? {
            steps: (): PollContext['steps'] & { stop(): void } => {
              let total = 0;
              let done = 0;
              return {
                plan(count) {
                  total += count;
                  // A bar for a backfill, not for the handful of requests of a routine poll.
                  if (!active && total >= 20) active = bars.create(total, done);
                  active?.setTotal(total);
                },
                done(count = 1) {
                  done += count;
                  active?.update(done);
                },
                stop() {
                  if (active) bars.remove(active);
                  active = undefined;
                },
              };
            },
          }
        : {}),
      onPoll: (totals) => io.stdout.write(formatPollSummary(totals)),
    });
    if (run.authError) {
      io.stderr.write(
        args.feed === 'openaq'
          ? `${run.authError}\nOpenAQ refused the API key: check OPENAQ_API_KEY or --api-key (a free key: ${OPENAQ_KEY_URL}).\n`
          : `${run.authError}\n`,
      );
      return 2;
    }
    return run.ok ? 0 : 1;
  } finally {
    bars?.stop();
    await store.close();
  }
}

export async function main(argv: string[], io: FeedIo): Promise<number> {
  const args = argumentsOrExit(() => parseFeedArguments(argv, io.env), USAGE, io);
  if ('exitCode' in args) return args.exitCode;
  try {
    return await feed(args, io);
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  // Ctrl-C or SIGTERM (docker stop): the poll under way finishes and prints its summary; a
  // second signal quits at once.
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(
      `\n${signal}: storing what was fetched, then stopping (again to quit at once)\n`,
    );
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  });
}
