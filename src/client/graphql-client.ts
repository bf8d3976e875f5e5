import type { IngestResult } from '../ingest/ingest-measurements.js';
import { networkCode, TRANSIENT_NETWORK_CODES } from '../util/network-error.js';
import type { MeasurementInput } from './measurement.js';

/**
 * A small client of belair's GraphQL API for the scripts: one POST per operation, retried with
 * exponential backoff when the failure is transient (the network, a 5xx or 429 answer, a timeout,
 * an error the server marks as retryable), never sooner than the server asked (Retry-After,
 * extensions.retryAfterSeconds). Retrying a write is safe because ingestion is
 * idempotent: a batch stored before its answer was lost is stored once, and the retry reports it
 * as unchanged.
 */
export interface GraphqlClientOptions {
  readonly endpoint: string;
  /** Sent as `Authorization: Bearer <token>`; writes need one. */
  readonly token?: string | undefined;
  /** Attempts after the first one. Default 5. */
  readonly retries?: number;
  /** Delay before the first retry; doubled each time, with jitter. Default 500 ms. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Per attempt. Default 60 s: a batch of 10,000 items takes a few seconds on a busy server. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (retry: { attempt: number; delayMs: number; error: Error }) => void;
  readonly fetch?: typeof fetch;
}

export class GraphqlRequestError extends Error {
  constructor(
    message: string,
    /** Worth trying again: the same request may succeed later. */
    readonly transient: boolean,
    readonly details: {
      status?: number;
      code?: string;
      attempts?: number;
      /** The wait the server asked for before the next attempt. */
      retryAfterMs?: number;
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GraphqlRequestError';
  }
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * The API's error codes that say "the server could not do it now", not "the request is wrong"
 * (the API also marks them extensions.retryable): MariaDB unreachable or no pooled connection
 * free, a token over its write rate, an aggregation run in progress.
 */
export const TRANSIENT_ERROR_CODES = new Set([
  'DATABASE_UNAVAILABLE',
  'RATE_LIMITED',
  'REFRESH_BUSY',
]);

interface GraphqlError {
  message?: string;
  extensions?: { code?: string; retryable?: boolean; retryAfterSeconds?: number };
}

/**
 * How long the server asked to wait before trying again, in ms: extensions.retryAfterSeconds
 * (RATE_LIMITED), else the Retry-After header in seconds (DATABASE_UNAVAILABLE, a 429 or 503 from
 * a proxy); undefined when it did not say.
 */
function retryAfterMs(errors: readonly GraphqlError[], header: string | null): number | undefined {
  for (const error of errors) {
    const seconds = error.extensions?.retryAfterSeconds;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
      return seconds * 1000;
    }
  }
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  return undefined;
}

function fromFetchFailure(error: unknown, endpoint: string): GraphqlRequestError {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new GraphqlRequestError(
      `no answer from ${endpoint} in time`,
      true,
      {},
      { cause: error },
    );
  }
  const code = networkCode(error);
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new GraphqlRequestError(
    `cannot reach ${endpoint}: ${reason}`,
    code !== undefined && TRANSIENT_NETWORK_CODES.has(code),
    code === undefined ? {} : { code },
    { cause: error },
  );
}

function fromGraphqlErrors(
  errors: GraphqlError[],
  status: number,
  retryAfterHeader: string | null,
): GraphqlRequestError {
  const first = errors[0] ?? {};
  const code = first.extensions?.code;
  const transient =
    first.extensions?.retryable === true ||
    (code !== undefined && TRANSIENT_ERROR_CODES.has(code)) ||
    TRANSIENT_STATUS.has(status);
  const messages = errors.map((e) => e.message ?? 'unknown error').join('; ');
  const retryAfter = retryAfterMs(errors, retryAfterHeader);
  return new GraphqlRequestError(code ? `${code}: ${messages}` : messages, transient, {
    status,
    ...(code === undefined ? {} : { code }),
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Variables of MeasurementInput: the enum name for the parameter, ISO text for the date. */
export function toGraphqlMeasurement(item: MeasurementInput): Record<string, unknown> {
  const { parameter, measuredAt, ...rest } = item;
  const input: Record<string, unknown> = {
    ...rest,
    parameter: parameter.toUpperCase(),
    measuredAt: measuredAt instanceof Date ? measuredAt.toISOString() : measuredAt,
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  return input;
}

const INGEST = /* GraphQL */ `
  mutation IngestMeasurements($measurements: [MeasurementInput!]!) {
    ingestMeasurements(measurements: $measurements) {
      received
      inserted
      updated
      unchanged
      rejected { index reason }
    }
  }
`;

const REFRESH = /* GraphQL */ `
  mutation RefreshAirQuality($at: DateTime) {
    refreshAirQuality(at: $at) { id evaluatedAt measurements cities }
  }
`;

export interface RefreshedRun {
  id: string;
  evaluatedAt: string;
  measurements: number;
  cities: number;
}

export interface GraphqlClient {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  ingestMeasurements(items: readonly MeasurementInput[]): Promise<IngestResult>;
  refreshAirQuality(at?: Date): Promise<RefreshedRun>;
}

export function createGraphqlClient(options: GraphqlClientOptions): GraphqlClient {
  const retries = options.retries ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const doFetch = options.fetch ?? fetch;

  async function attempt<T>(body: string): Promise<T> {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (options.signal) signals.push(options.signal);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(options.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body,
        signal: AbortSignal.any(signals),
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw fromFetchFailure(error, options.endpoint);
    }
    let payload: { data?: T | null; errors?: GraphqlError[] } | undefined;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    if (payload?.errors && payload.errors.length > 0) {
      throw fromGraphqlErrors(payload.errors, response.status, response.headers.get('retry-after'));
    }
    if (!response.ok || payload?.data === undefined || payload.data === null) {
      const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      const retryAfter = retryAfterMs([], response.headers.get('retry-after'));
      throw new GraphqlRequestError(
        `HTTP ${response.status} from ${options.endpoint}: ${excerpt}`,
        TRANSIENT_STATUS.has(response.status),
        {
          status: response.status,
          ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
        },
      );
    }
    return payload.data;
  }

  async function request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify({ query, variables });
    for (let attemptNumber = 1; ; attemptNumber += 1) {
      try {
        return await attempt<T>(body);
      } catch (error) {
        if (!(error instanceof GraphqlRequestError)) throw error;
        if (!error.transient || attemptNumber > retries) {
          if (attemptNumber === 1) throw error;
          throw new GraphqlRequestError(
            `${error.message} (after ${attemptNumber} attempts)`,
            error.transient,
            { ...error.details, attempts: attemptNumber },
            { cause: error.cause },
          );
        }
        const base = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attemptNumber - 1));
        // Jitter keeps several clients that failed together from retrying together. A wait the
        // server asked for is the least the client waits.
        const delayMs = Math.max(
          Math.round(base * (0.5 + Math.random() / 2)),
          error.details.retryAfterMs ?? 0,
        );
        options.onRetry?.({ attempt: attemptNumber, delayMs, error });
        await sleep(delayMs, options.signal);
      }
    }
  }

  return {
    request,
    async ingestMeasurements(items) {
      const data = await request<{ ingestMeasurements: IngestResult }>(INGEST, {
        measurements: items.map(toGraphqlMeasurement),
      });
      return data.ingestMeasurements;
    },
    async refreshAirQuality(at) {
      const data = await request<{ refreshAirQuality: RefreshedRun }>(
        REFRESH,
        at ? { at: at.toISOString() } : {},
      );
      return data.refreshAirQuality;
    },
  };
}
