import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/** A request as the stand-in saw it. */
export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
}

/**
 * An answer: JSON, text (a proxy's HTML page), or a connection that never answers (a stalled
 * upstream: the client's timeout has to end it).
 */
export type Reply =
  | {
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly json?: unknown;
      readonly text?: string;
    }
  | { readonly stall: true };

export interface FakeUpstream {
  readonly url: string;
  /** Every request received, in order, failed ones included. */
  readonly requests: Recorded[];
  /** The next requests that match get these replies, one each, before the normal answer. */
  inject(match: (request: Recorded) => boolean, ...replies: Reply[]): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for an upstream API (no test touches the internet): it
 * answers through `handle`, in the upstream's documented shapes, and records every request so
 * that a test can count what a feed asked for.
 */
export async function startFakeUpstream(
  handle: (request: Recorded) => Reply | Promise<Reply>,
): Promise<FakeUpstream> {
  const requests: Recorded[] = [];
  const injected: { match: (request: Recorded) => boolean; replies: Reply[] }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake.test');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw === '' ? undefined : raw;
      try {
        if (raw !== '') body = JSON.parse(raw);
      } catch {
        // kept as text
      }
      const request: Recorded = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: req.headers,
      };
      requests.push(request);
      const rule = injected.find((r) => r.replies.length > 0 && r.match(request));
      const reply = rule ? (rule.replies.shift() as Reply) : await handle(request);
      if ('stall' in reply) return;
      const text = reply.text ?? JSON.stringify(reply.json ?? null);
      res.writeHead(reply.status ?? 200, {
        'content-type': reply.text === undefined ? 'application/json' : 'text/html; charset=utf-8',
        ...reply.headers,
      });
      res.end(text);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    inject(match, ...replies) {
      injected.push({ match, replies });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Recorded answers replayed at another time: every epoch-ms `timestamp` and every ISO `utc` or
 * `local` instant in the value moves by offsetMs, so that data recorded at one hour reads as the
 * latest data now.
 */
export function shiftTimes<T>(value: T, offsetMs: number): T {
  if (Array.isArray(value)) return value.map((v) => shiftTimes(v, offsetMs)) as T;
  if (value === null || typeof value !== 'object') return value;
  const shifted: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'timestamp' && typeof v === 'number') shifted[key] = v + offsetMs;
    else if ((key === 'utc' || key === 'local') && typeof v === 'string')
      shifted[key] = shiftIso(v, offsetMs);
    else shifted[key] = shiftTimes(v, offsetMs);
  }
  return shifted as T;
}

/** An ISO instant moved by offsetMs, written with the offset it had (Z, +01:00). */
function shiftIso(text: string, offsetMs: number): string {
  const zone = /(Z|[+-]\d{2}:\d{2})$/.exec(text)?.[1] ?? 'Z';
  const moved = new Date(Date.parse(text) + offsetMs);
  if (zone === 'Z') return moved.toISOString().replace(/\.000Z$/, 'Z');
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hours, minutes] = zone.slice(1).split(':').map(Number);
  const local = new Date(moved.getTime() + sign * ((hours ?? 0) * 60 + (minutes ?? 0)) * 60_000);
  return `${local.toISOString().slice(0, 19)}${zone}`;
}

/** The start of the current hour, minus `hoursBack` hours, in epoch ms. */
export function hourStart(hoursBack = 0): number {
  return Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursBack * 3_600_000;
}

export const HOUR = 3_600_000;

/** A stand-in's time: the fixtures' recorded hour replayed as the last full hour but one. */
export interface Replay {
  /** epoch ms between the recorded hour and the hour it stands for in this run. */
  readonly offset: number;
  /** The time a fixture instant stands for in this run. */
  at(recorded: number): Date;
  /** The newest hour the stand-in serves (epoch ms); later values are not published yet. */
  latestHour(): number;
  /** Publishes the values of the next hours. */
  publish(hours: number): void;
  /** An hour of the recorded day (UTC), 12 for 12:00, as this run replays it. */
  atHour(hour: number): Date;
  /** The hour of the recorded day that a time of this run stands for. */
  hourOf(date: Date): number;
}

export function replay(recordedAt: number): Replay {
  const offset = hourStart(1) - recordedAt;
  let latestHour = recordedAt + offset;
  const recordedHour = new Date(recordedAt).getUTCHours();
  return {
    offset,
    at: (recorded) => new Date(recorded + offset),
    atHour: (hour) => new Date(recordedAt + (hour - recordedHour) * HOUR + offset),
    hourOf: (date) => recordedHour + (date.getTime() - (recordedAt + offset)) / HOUR,
    latestHour: () => latestHour,
    publish(hours) {
      latestHour += hours * HOUR;
    },
  };
}

/** A recorded answer of test/fixtures/<folder>/<name>. */
export function readFixture(folder: string, name: string): unknown {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/${folder}/${name}`, import.meta.url), 'utf8'),
  ) as unknown;
}
