import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * HTTP load from a process of its own: the autocannon command line, its --json report parsed.
 * POSTs one GraphQL body over `connections` keep-alive connections for `seconds`.
 */

export interface LoadResult {
  /** Mean requests per second over the run. */
  readonly requestsPerSecond: number;
  /** Latency percentiles, milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export function loadTest(args: {
  readonly url: string;
  readonly body: string;
  readonly seconds: number;
  readonly connections: number;
}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        AUTOCANNON,
        '--json',
        '--no-progress',
        '-c',
        String(args.connections),
        '-d',
        String(args.seconds),
        '-m',
        'POST',
        '-H',
        'content-type=application/json',
        '-b',
        args.body,
        args.url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`autocannon exited with ${code}: ${err.slice(0, 500)}`));
        return;
      }
      const report = JSON.parse(out) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        non2xx: number;
        errors: number;
      };
      resolve({
        requestsPerSecond: report.requests.average,
        p50: report.latency.p50,
        p99: report.latency.p99,
        requests: report.requests.total,
        non2xx: report.non2xx,
        errors: report.errors,
      });
    });
  });
}
