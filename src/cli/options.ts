import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';

/** Where the scripts find the API unless told otherwise: `npm start` on this machine. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4000/graphql';

/** A mistake in the command line: the script prints it with its usage and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** parseArgs, with its errors turned into UsageErrors. */
export function parseCommandLine<T extends ParseArgsConfig>(argv: string[], config: T) {
  try {
    return parseArgs({ ...config, args: argv, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function wholeNumber(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

export function positiveNumber(name: string, text: string, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`${name} must be a number above 0 and at most ${max}, got "${text}"`);
  }
  return value;
}

export function endpointUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as ${DEFAULT_ENDPOINT}, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--endpoint must be an http or https URL, got "${text}"`);
  }
  return url.href;
}

/** The token to write with: --token, else the first of API_TOKENS (what `npm start` accepts). */
export function writeToken(
  option: string | undefined,
  env: Record<string, string | undefined>,
): string | undefined {
  if (option !== undefined) return option;
  try {
    return loadConfig(env).apiTokens[0];
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** The options of a script that sends measurements to the API (parseArgs options). */
export const WRITE_OPTIONS = {
  endpoint: { type: 'string', default: DEFAULT_ENDPOINT },
  token: { type: 'string' },
  'batch-size': { type: 'string', default: '1000' },
} as const;

/** Where a script sends its batches, with which token, and how many measurements a request. */
export interface WriteTarget {
  readonly endpoint: string;
  readonly token: string | undefined;
  readonly batchSize: number;
}

/**
 * WRITE_OPTIONS' values, checked. The token is --token, else the first of API_TOKENS; none when
 * the script writes straight into a database (`throughApi: false`).
 */
export function writeTarget(
  values: { readonly endpoint: string; readonly token?: string; readonly 'batch-size': string },
  env: Record<string, string | undefined>,
  options: { readonly throughApi?: boolean } = {},
): WriteTarget {
  return {
    endpoint: endpointUrl(values.endpoint),
    token: options.throughApi === false ? undefined : writeToken(values.token, env),
    batchSize: wholeNumber('--batch-size', values['batch-size'], 1, 10_000),
  };
}

/**
 * The arguments, or the exit status when there is nothing to run: 0 after printing the usage
 * for --help, 2 after printing a usage error.
 */
export function argumentsOrExit<T extends object>(
  parse: () => T | 'help',
  usage: string,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): T | { exitCode: number } {
  try {
    const parsed = parse();
    if (parsed !== 'help') return parsed;
    io.stdout.write(`${usage}\n`);
    return { exitCode: 0 };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${error.message}\n\n${usage}\n`);
    return { exitCode: 2 };
  }
}

/** Whether the module at this URL is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** What a long-lived script's main is given of the process. */
export interface ScriptIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Record<string, string | undefined>;
  /** Ctrl-C: stop, finish what is in hand, print the summary. */
  readonly signal?: AbortSignal;
}

/**
 * Runs a long-lived script's main on the process's arguments until it ends or Ctrl-C: the first
 * SIGINT aborts the signal the script watches (it stops cleanly and prints its summary), a second
 * one quits at once.
 */
const DUPLICATE_SIGINT_MS = 500;

export async function runUntilInterrupted(
  stopping: string,
  main: (argv: string[], io: ScriptIo) => Promise<number>,
): Promise<void> {
  const controller = new AbortController();
  let firstAt = 0;
  process.on('SIGINT', () => {
    // tsx (npm run ...) passes on the Ctrl-C that the terminal already sent to the whole
    // process group: a second SIGINT within moments is that copy, not a second Ctrl-C.
    if (controller.signal.aborted) {
      if (Date.now() - firstAt > DUPLICATE_SIGINT_MS) process.exit(130);
      return;
    }
    firstAt = Date.now();
    process.stderr.write(`\n${stopping} (Ctrl-C again to quit at once)\n`);
    controller.abort();
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  });
}
