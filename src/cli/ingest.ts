import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MultiBar, Presets } from 'cli-progress';
import { createGraphqlClient } from '../client/graphql-client.js';
import { unassignedCountry } from '../ingest/countries.js';
import {
  type FileInput,
  type FileProblem,
  filteredOutTotal,
  type SendSummary,
  sendFiles,
  sendSucceeded,
} from '../sources/openaq-realtime/send-files.js';
import { formatCount, formatReasons, formatTable } from './format.js';
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

const USAGE = `Usage: npm run ingest -- [options] [files...]

Reads files in OpenAQ's realtime format and sends them to belair's ingestMeasurements mutation: realtime NDJSON
lines, SNS notifications (the measurement as message attributes or as a JSON message), Lambda
events from SNS or SQS, one per line or one per file; gzip too. Standard input when no files.

Options:
  --country <codes|all>  countries to keep, comma-separated ISO codes (default BE)
  --endpoint <url>       the API (default ${DEFAULT_ENDPOINT})
  --token <token>        bearer token for writes (default: the first of API_TOKENS)
  --batch-size <n>       measurements per request, 1-10000 (default 1000)
  --retries <n>          retries of a transient failure per request (default 5)
  -h, --help             this text

Exit status: 0 when every record was stored or filtered out; 1 when a record was malformed or
rejected, a batch could not be sent or an input could not be read; 2 on a usage error.`;

export interface IngestArguments extends WriteTarget {
  readonly files: readonly string[];
  readonly countries: ReadonlySet<string> | 'all';
  readonly retries: number;
}

export function parseIngestArguments(
  argv: string[],
  env: Record<string, string | undefined>,
): IngestArguments | 'help' {
  const { values, positionals } = parseCommandLine(argv, {
    allowPositionals: true,
    options: {
      country: { type: 'string', default: 'BE' },
      ...WRITE_OPTIONS,
      retries: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const country = values.country.trim();
  let countries: ReadonlySet<string> | 'all' = 'all';
  if (country.toLowerCase() !== 'all') {
    const codes = country.split(',').map((code) => code.trim().toUpperCase());
    const wrong = codes.filter((code) => !/^[A-Z]{2}$/.test(code));
    if (wrong.length > 0) {
      throw new UsageError(
        `--country takes two-letter codes (BE, or BE,NL) or "all", got "${values.country}"`,
      );
    }
    for (const code of codes) {
      const unassigned = unassignedCountry(code);
      if (unassigned !== null) throw new UsageError(`--country: ${code} ${unassigned}`);
    }
    countries = new Set(codes);
  }
  return {
    files: positionals,
    countries,
    ...writeTarget(values, env),
    retries: wholeNumber('--retries', values.retries, 0, 100),
  };
}

export interface CliIo {
  readonly stdin: AsyncIterable<unknown>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Record<string, string | undefined>;
}

function inputsOf(files: readonly string[], stdin: AsyncIterable<unknown>): FileInput[] {
  if (files.length === 0) return [{ name: 'stdin', open: () => stdin }];
  return files.map((file) =>
    file === '-'
      ? { name: 'stdin', open: () => stdin }
      : { name: file, open: () => createReadStream(file) },
  );
}

async function totalBytes(files: readonly string[]): Promise<number | undefined> {
  if (files.length === 0 || files.includes('-')) return undefined;
  let total = 0;
  for (const file of files) {
    try {
      total += (await stat(file)).size;
    } catch {
      return undefined;
    }
  }
  return total;
}

export function formatSendSummary(summary: SendSummary, countries: IngestArguments['countries']) {
  const filtered = filteredOutTotal(summary);
  const inputs = formatCount(summary.inputs);
  const lines = [
    'ingest summary',
    ...formatTable([
      [
        'inputs',
        summary.unreadableInputs > 0
          ? `${inputs} (${summary.unreadableInputs} could not be read)`
          : inputs,
      ],
      ['read', `${formatCount(summary.read)} records`],
      ['malformed', formatCount(summary.malformed)],
      [
        'filtered out',
        `${formatCount(filtered)}${countries === 'all' ? '' : ` (keeping ${[...countries].join(', ')})`}`,
      ],
      ...formatReasons(summary.filteredOut, '      '),
      ['sent', formatCount(summary.sent)],
      ['  inserted', formatCount(summary.inserted)],
      ['  updated', formatCount(summary.updated)],
      ['  unchanged', formatCount(summary.unchanged)],
      ['  rejected', formatCount(summary.rejected)],
      ...formatReasons(summary.rejections, '      '),
      ['not sent', formatCount(summary.notSent)],
    ]),
  ];
  if (summary.sendError) lines.push(`  stopped: ${summary.sendError}`);
  return `${lines.join('\n')}\n`;
}

/** Problems are printed as they come, up to this many; the summary counts them all. */
const MAX_PROBLEM_LINES = 100;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const args = argumentsOrExit(() => parseIngestArguments(argv, io.env), USAGE, io);
  if ('exitCode' in args) return args.exitCode;
  const { token } = args;

  const total = await totalBytes(args.files);
  const bars = io.stderr.isTTY
    ? new MultiBar(
        {
          stream: io.stderr,
          format:
            total === undefined
              ? 'ingest | {read} records read | {sent} sent | {rejected} rejected'
              : 'ingest [{bar}] {percentage}% | {read} records read | {sent} sent | {rejected} rejected',
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  const bar = bars?.create(total ?? 0, 0, { read: 0, sent: 0, rejected: 0 });
  const say = (text: string) => (bars ? bars.log(text) : io.stderr.write(text));

  let problems = 0;
  const onProblem = (problem: FileProblem) => {
    problems += 1;
    if (problems <= MAX_PROBLEM_LINES)
      say(`${problem.where}: ${problem.kind}: ${problem.reason}\n`);
    else if (problems === MAX_PROBLEM_LINES + 1) say('… more problems, counted in the summary\n');
  };

  const client = createGraphqlClient({
    endpoint: args.endpoint,
    token,
    retries: args.retries,
    onRetry: ({ attempt, delayMs, error }) =>
      say(
        `request failed (${error.message}); retry ${attempt} of ${args.retries} in ${delayMs} ms\n`,
      ),
  });
  const summary = await sendFiles({
    inputs: inputsOf(args.files, io.stdin),
    countries: args.countries,
    batchSize: args.batchSize,
    send: (items) => client.ingestMeasurements(items),
    onProblem,
    onProgress: ({ read, sent, rejected, bytes }) =>
      bar?.update(total === undefined ? 0 : bytes, { read, sent, rejected }),
  });
  bars?.stop();
  if (summary.sendError && token === undefined) {
    summary.sendError += ' (no token was given: pass --token or set API_TOKENS)';
  }
  io.stdout.write(formatSendSummary(summary, args.countries));
  return sendSucceeded(summary) ? 0 : 1;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
