/**
 * The soak's memory samples of the API process and the rule that judges them.
 *
 * Each sample is taken with the load held (no request in flight, no push under way) after two
 * full garbage collections, so heapUsed is what the process keeps: its caches, its sockets and
 * subscriptions, and whatever leaks. The first judged sample is the warm-up one (every subscriber
 * connected and pushed to, every query shape and the ingestion path served for a while, so that
 * caches and compiled code have reached their size, and the connection pool opened to its full
 * size: mysql2 opens connections as concurrency needs them, and each one preallocates a cache of
 * prepared statements of about 0.5 MB, a step a soak must not take for a leak).
 */

export interface MemorySample {
  readonly label: string;
  /** Seconds since the load started. */
  readonly atSeconds: number;
  readonly heapUsed: number;
  /** The part of heapUsed that compiled code and bytecode take (V8's code statistics). */
  readonly code: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly rss: number;
  /** Connections the API's mysql2 pool holds: each keeps about 0.5 MB of heap. */
  readonly poolConnections: number;
  /** Requests answered (queries and writes) and pushes delivered so far. */
  readonly requests: number;
  readonly pushes: number;
  /** Judged samples: from the warm-up one to the end one. */
  readonly judged: boolean;
}

export interface MemoryRule {
  /** The end heap may exceed the warm-up heap by at most max(bytes, fraction × warm-up). */
  readonly allowedBytes: number;
  readonly allowedFraction: number;
  /** A rise at every step fails once it adds up to more than this. */
  readonly steadyRiseBytes: number;
}

export interface MemoryVerdict {
  readonly passed: boolean;
  /** End minus warm-up, of the heap of objects (heapUsed − code), bytes. */
  readonly growth: number;
  /** The bound that growth and the trend were held to, bytes. */
  readonly bound: number;
  /** Least-squares slope of the judged samples' heap, bytes per minute. */
  readonly slopePerMinute: number;
  /** The slope over the judged span: the growth the trend line shows, bytes. */
  readonly trendGrowth: number;
  /** Every judged sample higher than the one before. */
  readonly monotonic: boolean;
  /** Largest difference between consecutive judged samples, either way, bytes. */
  readonly largestStep: number;
  readonly reasons: readonly string[];
}

const MB = 1024 * 1024;

export function mb(bytes: number, digits = 1): string {
  return (bytes / MB).toFixed(digits);
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The heap of objects: heapUsed without V8's compiled code and bytecode. */
export function objects(sample: MemorySample): number {
  return sample.heapUsed - sample.code;
}

/**
 * "No growth beyond noise", judged on the heap of objects after GC (heapUsed − code: V8 keeps
 * compiling code for minutes under a steady load, a rise that stops by itself and is no leak):
 * the end within the bound of the warm-up, the trend line over the judged samples rising by less
 * than the bound over the run, and no rise at every step that adds up to more than steadyRiseBytes
 * (with at least four judged samples, a steady leak smaller than the bound still rises at every
 * step, which noise alone makes unlikely: 1 in 2³ with four; a smaller total is what the last of
 * V8's warm-up looks like, the metadata of optimised code that its code statistics leave out).
 */
export function judgeMemory(samples: readonly MemorySample[], rule: MemoryRule): MemoryVerdict {
  const judged = samples.filter((s) => s.judged);
  const first = judged[0];
  const last = judged[judged.length - 1];
  if (!first || !last || judged.length < 2) {
    throw new Error('judging memory needs at least the warm-up and the end samples');
  }
  const bound = Math.max(rule.allowedBytes, rule.allowedFraction * objects(first));
  const growth = objects(last) - objects(first);
  const perSecond = slope(judged.map((s) => ({ x: s.atSeconds, y: objects(s) })));
  const trendGrowth = perSecond * (last.atSeconds - first.atSeconds);
  const steps = judged.slice(1).map((s, i) => objects(s) - objects(judged[i] as MemorySample));
  const monotonic = judged.length >= 4 && steps.every((step) => step > 0);
  const largestStep = Math.max(...steps.map(Math.abs));
  const reasons: string[] = [];
  if (growth > bound) {
    reasons.push(
      `the heap of objects ends ${mb(growth)} MB above the warm-up, more than the ${mb(bound)} MB allowed`,
    );
  }
  if (trendGrowth > bound) {
    reasons.push(
      `the trend of the samples rises ${mb(trendGrowth)} MB over the run, more than the ${mb(bound)} MB allowed`,
    );
  }
  if (monotonic && growth > rule.steadyRiseBytes) {
    reasons.push(
      `the heap of objects grew at every one of the ${steps.length} steps between samples, ${mb(growth)} MB in all, more than the ${mb(rule.steadyRiseBytes)} MB allowed`,
    );
  }
  return {
    passed: reasons.length === 0,
    growth,
    bound,
    slopePerMinute: perSecond * 60,
    trendGrowth,
    monotonic,
    largestStep,
    reasons,
  };
}

/** The samples as a table (header and rows), sizes in MB, deltas against the warm-up sample. */
export function sampleRows(samples: readonly MemorySample[]): {
  header: string[];
  rows: string[][];
} {
  const warm = samples.find((s) => s.judged);
  const header = [
    'sample',
    'at',
    'heapUsed after GC',
    'code',
    'objects (heap − code)',
    'Δ objects vs warm-up',
    'external',
    'RSS',
    'pool connections',
    'requests',
    'pushes',
  ];
  const signed = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes), 2)} MB`;
  const rows = samples.map((s) => [
    s.label,
    `${s.atSeconds.toFixed(0)} s`,
    `${mb(s.heapUsed, 2)} MB`,
    `${mb(s.code, 2)} MB`,
    `${mb(objects(s), 2)} MB`,
    warm && s.judged ? signed(objects(s) - objects(warm)) : '',
    `${mb(s.external, 2)} MB`,
    `${mb(s.rss)} MB`,
    String(s.poolConnections),
    s.requests.toLocaleString('en-US'),
    s.pushes.toLocaleString('en-US'),
  ]);
  return { header, rows };
}
