import { networkCode, TRANSIENT_NETWORK_CODES } from '../../util/network-error.js';
import { sleep } from '../../util/sleep.js';
import { headerNumber, type RateBudget } from './rate-budget.js';

/**
 * Why an upstream request gave nothing usable:
 * - auth: 401 or 403, a wrong or blocked key: the feed stops (exit status 2);
 * - not-found: 404, the thing asked for is not there (a location OpenAQ dropped): skipped;
 * - refused: another 4xx (400, 405, 422): the upstream will not answer this request as it is;
 * - malformed: an answer that is not JSON, or not of the documented shape;
 * - unavailable: 5xx, resets, timeouts, still failing after the retries;
 * - deadline: the poll's interval would be over before the request could go (rate budget, a
 *   429's wait, a backoff): skipped, for the next poll.
 */
export type UpstreamErrorKind =
  | 'auth'
  | 'not-found'
  | 'refused'
  | 'malformed'
  | 'unavailable'
  | 'deadline';

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface UpstreamClientOptions {
  /** For messages: IRCEL-CELINE, OpenAQ. */
  readonly name: string;
  readonly baseUrl: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Attempts after the first one, for 5xx, resets and timeouts. */
  readonly retries: number;
  /** Before the first retry; doubled each time, with jitter. Default 1000 ms. */
  readonly retryDelayMs?: number;
  readonly budget?: RateBudget;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** A retry about to happen, in a sentence. */
  readonly onRetry?: (message: string) => void;
}

export interface RequestOptions {
  /** Query parameters. */
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  /** A JSON body: the request is a POST. */
  readonly body?: unknown;
  /** Epoch ms after which no attempt may start (the end of the poll's interval). */
  readonly deadline?: number;
}

export interface UpstreamClient {
  /** The parsed JSON of a successful answer. */
  request(path: string, options?: RequestOptions): Promise<unknown>;
  /** Attempts sent so far (each retry counts: the upstream counts them too). */
  readonly requests: number;
  url(path: string, query?: RequestOptions['query']): string;
}

/** At most this many 429 answers in a row for one request before it counts as unavailable. */
const MAX_RATE_LIMITED = 10;

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/**
 * What a refusal says. OpenAQ's 422 bodies are a JSON string ("datetime_from must be before
 * datetime_to"), FastAPI's validation errors an object {detail: [{msg}]}; anything else is shown
 * as it came.
 */
function refusalMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'string') return body;
    if (body && typeof body === 'object') {
      const detail = (body as { detail?: unknown; message?: unknown }).detail;
      if (typeof detail === 'string') return detail;
      if (Array.isArray(detail)) {
        const messages = detail
          .map((d) => (d && typeof d === 'object' ? (d as { msg?: unknown }).msg : d))
          .filter((m): m is string => typeof m === 'string');
        if (messages.length > 0) return messages.join('; ');
      }
      const message = (body as { message?: unknown }).message;
      if (typeof message === 'string') return message;
    }
  } catch {
    // not JSON: shown as text
  }
  return excerpt(text) || '(empty body)';
}

/**
 * A small JSON client of an upstream API for the feeds: one GET or POST per call, retried with
 * backoff on 5xx answers, resets and timeouts; a 429 waits for the time the upstream asks
 * (Retry-After, x-ratelimit-reset) and tries again; every attempt goes through the rate budget
 * when there is one. Nothing is retried past the deadline.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const doFetch = options.fetch ?? fetch;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const base = options.baseUrl.replace(/\/+$/, '');
  let requests = 0;

  const url = (path: string, query: RequestOptions['query'] = {}) => {
    const target = new URL(`${base}${path}`);
    for (const [name, value] of Object.entries(query)) target.searchParams.set(name, String(value));
    return target.href;
  };

  async function request(path: string, request: RequestOptions = {}): Promise<unknown> {
    const target = url(path, request.query);
    const deadline = request.deadline ?? Number.POSITIVE_INFINITY;
    const pastDeadline = (why: string) =>
      new UpstreamError('deadline', `${why}: not asked before the end of the poll`, target);
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      if (options.budget && !(await options.budget.take(deadline, options.signal))) {
        throw pastDeadline('the rate budget is spent');
      }
      if (options.signal?.aborted) throw new UpstreamError('deadline', 'stopped', target);
      requests += 1;
      let response: Response;
      let text: string;
      try {
        const signals = [AbortSignal.timeout(options.timeoutMs)];
        if (options.signal) signals.push(options.signal);
        response = await doFetch(target, {
          method: request.body === undefined ? 'GET' : 'POST',
          headers: {
            accept: 'application/json',
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...options.headers,
          },
          ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          signal: AbortSignal.any(signals),
        });
        text = await response.text();
      } catch (error) {
        if (options.signal?.aborted) throw new UpstreamError('deadline', 'stopped', target);
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        const code = networkCode(error);
        const reason = timedOut
          ? `no answer in ${options.timeoutMs / 1000} s`
          : (code ?? (error instanceof Error ? error.message : String(error)));
        if (!timedOut && (code === undefined || !TRANSIENT_NETWORK_CODES.has(code))) {
          throw new UpstreamError('unavailable', `${options.name}: ${reason}`, target);
        }
        failures += 1;
        if (failures > options.retries) {
          throw new UpstreamError(
            'unavailable',
            `${options.name}: ${reason} (after ${failures} attempts)`,
            target,
          );
        }
        await backoff(`${options.name}: ${reason}`, failures, deadline, target);
        continue;
      }
      options.budget?.observe(response.headers);
      const { status } = response;
      if (status >= 200 && status < 300) {
        try {
          return JSON.parse(text);
        } catch {
          throw new UpstreamError(
            'malformed',
            `${options.name} answered ${status} with a body that is not JSON: ${excerpt(text) || '(empty)'}`,
            target,
            status,
          );
        }
      }
      if (status === 401 || status === 403) {
        throw new UpstreamError(
          'auth',
          `${options.name} refused the request (${status}): ${refusalMessage(text)}`,
          target,
          status,
        );
      }
      if (status === 404) {
        throw new UpstreamError('not-found', `${options.name}: not found (404)`, target, status);
      }
      if (status === 429) {
        rateLimited += 1;
        const waitMs =
          (headerNumber(response.headers, 'retry-after') ??
            headerNumber(response.headers, 'x-ratelimit-reset') ??
            60) * 1000;
        if (rateLimited > MAX_RATE_LIMITED) {
          throw new UpstreamError(
            'unavailable',
            `${options.name}: still 429 Too Many Requests after ${rateLimited} tries`,
            target,
            status,
          );
        }
        options.budget?.blockFor(waitMs);
        if (Date.now() + waitMs > deadline) throw pastDeadline('429 Too Many Requests');
        options.onRetry?.(
          `${options.name}: 429 Too Many Requests for ${target}; waiting ${Math.ceil(waitMs / 1000)} s as it asks`,
        );
        await sleep(waitMs, options.signal);
        continue;
      }
      if (status === 408 || status >= 500) {
        failures += 1;
        const reason = `${status} ${excerpt(text)}`.trim();
        if (failures > options.retries) {
          throw new UpstreamError(
            'unavailable',
            `${options.name} answered ${reason} (after ${failures} attempts)`,
            target,
            status,
          );
        }
        await backoff(`${options.name} answered ${status}`, failures, deadline, target);
        continue;
      }
      throw new UpstreamError(
        'refused',
        `${options.name} refused the request (${status}): ${refusalMessage(text)}`,
        target,
        status,
      );
    }
  }

  async function backoff(reason: string, failures: number, deadline: number, target: string) {
    const base = retryDelayMs * 2 ** (failures - 1);
    const delayMs = Math.round(base * (0.5 + Math.random() / 2));
    if (Date.now() + delayMs > deadline) {
      throw new UpstreamError('deadline', `${reason}: no time left to try again`, target);
    }
    options.onRetry?.(
      `${reason} for ${target}; retry ${failures} of ${options.retries} in ${delayMs} ms`,
    );
    await sleep(delayMs, options.signal);
  }

  return {
    request,
    url,
    get requests() {
      return requests;
    },
  };
}
