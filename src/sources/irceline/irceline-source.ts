import type { PollutantCode } from '../../client/measurement.js';
import {
  type FeedItem,
  type FeedSource,
  isoInstant,
  newValues,
  type PollContext,
  type PollResult,
  pollTallies,
  type SeriesFetch,
  tally,
  type UpstreamValue,
} from '../feed/poll.js';
import { type UpstreamClient, UpstreamError } from '../feed/upstream-client.js';
import { followedPhenomena } from './phenomena.js';
import { parseData, parsePhenomena, parseTimeseries, type TimeseriesEntry } from './shapes.js';
import { parseStationLabel } from './station-label.js';

/** IRCEL-CELINE publishes its data under CC BY 4.0 (https://www.irceline.be, open data). */
export const IRCELINE_LICENCE = 'CC BY 4.0';
export const IRCELINE_ATTRIBUTION = 'IRCEL-CELINE, https://www.irceline.be';
export const IRCELINE_SOURCE_NAME = 'IRCEL-CELINE';

export const DEFAULT_IRCELINE_URL = 'https://geo.irceline.be/sos/api/v1';

/** Series per POST /timeseries/getData: one request brings a whole backfill of Belgium. */
const SERIES_PER_REQUEST = 100;

/** Values are hourly means: a series at most an hour behind has nothing but its lastValue new. */
const HOUR = 3_600_000;

interface FollowedSeries extends TimeseriesEntry {
  readonly pollutant: PollutantCode;
  /** Epoch ms: what is newer than this is new. */
  readonly after: number;
}

export function createIrcelineSource(upstream: UpstreamClient): FeedSource {
  /** Set when the API answered that it takes no POST of getData: per series GETs from then on. */
  let postRefused = false;

  async function poll(context: PollContext): Promise<PollResult> {
    const { skipped, failed, malformed } = pollTallies(context);
    const { deadline } = context;
    /** An answer that gave nothing: reported with its URL, counted by what went wrong. */
    const failure = (error: unknown, what: string): void => {
      if (error instanceof UpstreamError) {
        if (error.kind === 'auth') throw error;
        if (error.kind === 'deadline') {
          tally(skipped, `${what}: not asked within the ${context.interval} interval`);
          return;
        }
        context.report(`${what}: ${error.message} (${error.url})`);
        tally(failed, `${what}: ${error.message}`);
        return;
      }
      throw error;
    };

    // 1. The phenomena, for the ids of SO2 and CO.
    context.steps.plan(1);
    let listed: ReturnType<typeof parsePhenomena> | null = null;
    try {
      listed = parsePhenomena(
        await upstream.request('/phenomena', { query: { locale: 'en' }, deadline }),
      );
      if (!listed.ok)
        malformed(upstream.url('/phenomena', { locale: 'en' }), 'phenomena', listed.problem);
    } catch (error) {
      failure(error, 'phenomena');
    }
    context.steps.done();
    const followed = followedPhenomena(listed?.ok ? listed.value : null);

    // 2. Every series of each followed pollutant, with its latest value: a request each.
    context.steps.plan(followed.size);
    const series: FollowedSeries[] = [];
    let idle = 0;
    for (const [phenomenon, pollutant] of followed) {
      const query = { expanded: true, force_latest_values: true, phenomenon };
      try {
        const parsed = parseTimeseries(await upstream.request('/timeseries', { query, deadline }));
        if (!parsed.ok) {
          malformed(
            upstream.url('/timeseries', query),
            `timeseries of ${pollutant}`,
            parsed.problem,
          );
        } else {
          tally(skipped, 'timeseries entries without an id or a station', parsed.value.broken);
          for (const entry of parsed.value.entries) {
            const after = (context.progress.get(entry.id) ?? context.since).getTime();
            // Nothing since the window began, nor since it was last fetched: out of service.
            const last = entry.lastValue?.time;
            if (last === undefined || last <= Math.min(after, context.since.getTime())) {
              idle += 1;
              continue;
            }
            series.push({ ...entry, pollutant, after });
          }
        }
      } catch (error) {
        failure(error, `timeseries of ${pollutant}`);
      }
      context.steps.done();
    }

    // One series per station and pollutant: a station measuring one pollutant with two devices
    // would store two values under one key. The one with the newest value is kept (the device in
    // service), the lowest id between equals.
    const kept = new Map<string, FollowedSeries>();
    for (const s of series) {
      const key = `${s.station.id}\u0000${s.pollutant}`;
      const other = kept.get(key);
      const newer = (a: FollowedSeries, b: FollowedSeries) =>
        (a.lastValue?.time ?? 0) - (b.lastValue?.time ?? 0) || Number(b.id) - Number(a.id);
      if (other) tally(skipped, 'second series of a pollutant at one station (the newest is kept)');
      if (!other || newer(s, other) > 0) kept.set(key, s);
    }
    series.splice(0, series.length, ...kept.values());

    // 3. What each series needs: nothing, its lastValue, or its values since it was last fetched.
    const values = new Map<string, UpstreamValue[]>();
    const backfill = new Map<number, FollowedSeries[]>();
    for (const s of series) {
      const last = s.lastValue;
      if (last === null || last.time <= s.after) values.set(s.id, []);
      else if (last.time - s.after <= HOUR) values.set(s.id, [last]);
      else backfill.set(s.after, [...(backfill.get(s.after) ?? []), s]);
    }
    const end = isoInstant(context.now.getTime());
    const groups = [...backfill].flatMap(([after, members]) => {
      const chunks: { after: number; members: FollowedSeries[] }[] = [];
      for (let i = 0; i < members.length; i += SERIES_PER_REQUEST) {
        chunks.push({ after, members: members.slice(i, i + SERIES_PER_REQUEST) });
      }
      return chunks;
    });
    context.steps.plan(groups.length);
    for (const group of groups) {
      // The timespan starts a second after the last value fetched: nothing is fetched twice.
      const timespan = `${isoInstant(group.after + 1000)}/${end}`;
      const ids = group.members.map((m) => m.id);
      let fetchedGroup = false;
      if (!postRefused) {
        try {
          const parsed = parseData(
            await upstream.request('/timeseries/getData', {
              body: { timeseries: ids, timespan },
              deadline,
            }),
            ids,
          );
          fetchedGroup = true;
          if (!parsed.ok) {
            malformed(upstream.url('/timeseries/getData'), 'data', parsed.problem);
          } else {
            for (const id of ids) {
              const found = parsed.value.get(id);
              if (!found) {
                context.report(
                  `data: the answer has no values for timeseries ${id} (${upstream.url('/timeseries/getData')})`,
                );
                tally(failed, 'data: an answer without the values of a series asked for');
                continue;
              }
              tally(skipped, 'values without a timestamp', found.broken);
              values.set(id, found.values);
            }
          }
        } catch (error) {
          if (
            error instanceof UpstreamError &&
            error.kind === 'refused' &&
            [400, 404, 405, 415, 501].includes(error.status ?? 0)
          ) {
            // A server or proxy that takes no POST: one GET per series, as the API also offers.
            postRefused = true;
          } else if (error instanceof UpstreamError && error.kind === 'not-found') {
            postRefused = true;
          } else {
            failure(error, 'data');
            fetchedGroup = true;
          }
        }
      }
      if (!fetchedGroup) {
        context.steps.plan(ids.length - 1);
        for (const id of ids) {
          const path = `/timeseries/${encodeURIComponent(id)}/getData`;
          try {
            const parsed = parseData(
              await upstream.request(path, { query: { timespan }, deadline }),
              [id],
            );
            const found = parsed.ok ? parsed.value.get(id) : undefined;
            if (!found) {
              malformed(
                upstream.url(path, { timespan }),
                `data of timeseries ${id}`,
                parsed.ok ? 'no list of values' : parsed.problem,
              );
            } else {
              tally(skipped, 'values without a timestamp', found.broken);
              values.set(id, found.values);
            }
          } catch (error) {
            failure(error, `data of timeseries ${id}`);
          }
          context.steps.done();
        }
      } else {
        context.steps.done();
      }
    }

    // 4. Measurements, one series at a time.
    const batches: SeriesFetch[] = [];
    const stations = new Set<string>();
    let fetched = 0;
    for (const s of series) {
      stations.add(s.station.id);
      const got = values.get(s.id);
      if (!got) continue;
      const fresh = newValues(got, s.after, skipped);
      fetched += fresh.received;
      const label = parseStationLabel(s.station.label);
      batches.push({
        series: s.id,
        until: fresh.until === null ? null : new Date(fresh.until),
        items: fresh.values.map(
          (v): FeedItem => ({
            location: s.station.label,
            city: label.place,
            country: 'BE',
            parameter: s.pollutant,
            value: v.value,
            unit: s.uom,
            measuredAt: new Date(v.time).toISOString(),
            latitude: s.latitude,
            longitude: s.longitude,
            sourceName: IRCELINE_SOURCE_NAME,
            sourceType: 'government',
            stationCode: label.code,
            licence: IRCELINE_LICENCE,
            attribution: IRCELINE_ATTRIBUTION,
          }),
        ),
      });
    }
    return {
      stations: stations.size,
      series: series.length,
      idle,
      fetched,
      batches,
      skipped,
      failed,
    };
  }

  return { name: 'irceline', title: 'IRCEL-CELINE', upstream, poll };
}
