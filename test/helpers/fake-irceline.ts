import {
  type FakeUpstream,
  type Recorded,
  type Replay,
  type Reply,
  readFixture,
  replay,
  shiftTimes,
  startFakeUpstream,
} from './fake-upstream.js';

/** The instant test/fixtures/irceline/ was recorded at: its lastValues are of this hour. */
export const IRCELINE_RECORDED_AT = Date.UTC(2026, 10, 21, 12);

const fixture = (name: string) => readFixture('irceline', name);

interface Entry {
  id: string;
  lastValue?: { timestamp: number; value: unknown };
}

export interface FakeIrceline extends FakeUpstream, Replay {
  /** Requests by kind: phenomena, timeseries, getData (POST) and getData of one series (GET). */
  count(): { phenomena: number; timeseries: number; post: number; get: number; all: number };
}

export interface FakeIrcelineOptions {
  /** Answer POST /timeseries/getData with 405, as a server that takes only GETs would. */
  readonly refusePost?: boolean;
  /** Serve only these series (ids); default all of the fixtures. */
  readonly series?: readonly string[];
  /**
   * A second PM10 series at Antwerpen (Park Spoor Noord), another device (id 10750), its values
   * 1 µg/m³ above those of 10743.
   */
  readonly secondDevice?: boolean;
}

/** Parses "start/end" of two ISO instants; null otherwise. */
function timespan(text: unknown): { start: number; end: number } | null {
  if (typeof text !== 'string') return null;
  const [start, end] = text.split('/').map((part) => Date.parse(part));
  if (start === undefined || end === undefined || Number.isNaN(start) || Number.isNaN(end))
    return null;
  return { start, end };
}

/**
 * IRCEL-CELINE's timeseries API as the fixtures recorded it, replayed so that the recorded hour
 * is the last full hour but one: the stand-in serves values up to latestHour (a test moves it on
 * to publish the next hour) and answers getData for the timespan asked, as the real one does.
 */
export async function startFakeIrceline(options: FakeIrcelineOptions = {}): Promise<FakeIrceline> {
  const time = replay(IRCELINE_RECORDED_AT);
  const { offset } = time;
  const keep = (id: string) => options.series === undefined || options.series.includes(id);
  const values = shiftTimes(
    fixture('values.json') as Record<string, { timestamp: number; value: unknown }[]>,
    offset,
  );
  const listings = new Map<string, Entry[]>();
  for (const phenomenon of ['5', '6001', '8', '7', '391', '1', '10']) {
    const entries = shiftTimes(fixture(`timeseries-${phenomenon}.json`) as Entry[], offset);
    listings.set(
      phenomenon,
      entries.filter((e) => keep(e.id)),
    );
  }
  if (options.secondDevice) {
    const first = listings.get('5')?.find((e) => e.id === '10743');
    if (first) listings.get('5')?.push({ ...first, id: '10750' });
    values['10750'] = (values['10743'] ?? []).map((v) => ({
      ...v,
      value: (v.value as number) + 1,
    }));
  }
  const published = (id: string) =>
    (values[id] ?? []).filter((v) => v.timestamp <= time.latestHour());
  const between = (id: string, span: { start: number; end: number }) =>
    published(id).filter((v) => v.timestamp >= span.start && v.timestamp <= span.end);
  const badSpan: Reply = {
    status: 400,
    json: { userMessage: 'Invalid timespan', developerMessage: 'timespan must be start/end' },
  };

  const handle = (request: Recorded): Reply => {
    if (request.method === 'GET' && request.path === '/phenomena') {
      return { json: fixture('phenomena.json') };
    }
    if (request.method === 'GET' && request.path === '/timeseries') {
      const entries = listings.get(request.query.phenomenon ?? '') ?? [];
      return {
        json: entries.map((entry) => {
          const latest = published(entry.id).at(-1);
          return latest && entry.lastValue ? { ...entry, lastValue: latest } : entry;
        }),
      };
    }
    if (request.method === 'POST' && request.path === '/timeseries/getData') {
      if (options.refusePost) return { status: 405, json: { userMessage: 'Method not allowed' } };
      const body = request.body as { timeseries?: unknown; timespan?: unknown } | undefined;
      const span = timespan(body?.timespan);
      if (!span || !Array.isArray(body?.timeseries)) return badSpan;
      return {
        json: Object.fromEntries(
          body.timeseries
            .map(String)
            .filter((id) => id in values && keep(id))
            .map((id) => [id, { values: between(id, span) }]),
        ),
      };
    }
    const single = /^\/timeseries\/([^/]+)\/getData$/.exec(request.path);
    if (request.method === 'GET' && single?.[1]) {
      const span = timespan(request.query.timespan);
      if (!span) return badSpan;
      if (!(single[1] in values)) return { status: 404, json: { userMessage: 'not found' } };
      return { json: { values: between(single[1], span) } };
    }
    return { status: 404, json: { userMessage: `no such resource: ${request.path}` } };
  };

  const upstream = await startFakeUpstream(handle);
  return Object.assign(upstream, time, {
    count() {
      const r = upstream.requests;
      return {
        phenomena: r.filter((q) => q.path === '/phenomena').length,
        timeseries: r.filter((q) => q.path === '/timeseries').length,
        post: r.filter((q) => q.method === 'POST').length,
        get: r.filter((q) => q.method === 'GET' && q.path.endsWith('/getData')).length,
        all: r.length,
      };
    },
  });
}
