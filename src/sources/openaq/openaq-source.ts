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
import type { RateBudget } from '../feed/rate-budget.js';
import { type UpstreamClient, UpstreamError } from '../feed/upstream-client.js';
import { OPENAQ_PARAMETERS } from './parameters.js';
import {
  type LatestValue,
  type Location,
  parseLatest,
  parseLocations,
  parseMeasurements,
  type Sensor,
} from './shapes.js';
import { stationCodeIn } from './station-code.js';

export const DEFAULT_OPENAQ_URL = 'https://api.openaq.org';
export const OPENAQ_KEY_URL = 'https://explore.openaq.org/register';

const PAGE_SIZE = 1000;
/** Pages of locations at most (Belgium has a few hundred). */
const MAX_PAGES = 20;
/** Pages of one sensor's measurements at most, per poll. */
const MAX_MEASUREMENT_PAGES = 10;
/** A sensor at most an hour behind gets its latest value; one further behind, its measurements. */
const HOUR = 3_600_000;

interface FollowedSensor extends Sensor {
  readonly pollutant: PollutantCode;
  readonly after: number;
}

/** The licence in force (no end date, or one still to come), else the last one listed. */
function licenceOf(location: Location, now: Date) {
  const today = now.toISOString().slice(0, 10);
  const current =
    location.licences.find((l) => l.dateTo === null || l.dateTo >= today) ??
    location.licences.at(-1);
  const provider = location.provider ?? 'its provider';
  if (!current)
    return { licence: null, attribution: `${provider}, via OpenAQ, https://openaq.org` };
  const credit = current.attributionName ?? provider;
  return {
    licence: current.name,
    attribution: `${credit}${current.attributionUrl ? `, ${current.attributionUrl}` : ''}; via OpenAQ, https://openaq.org`,
  };
}

export function createOpenaqSource(upstream: UpstreamClient, budget: RateBudget): FeedSource {
  async function poll(context: PollContext): Promise<PollResult> {
    const { skipped, failed, malformed } = pollTallies(context);
    const { deadline } = context;
    let outOfTime = false;
    /** An answer that gave nothing: reported with its URL, counted by what went wrong. */
    const failure = (error: unknown, what: string): 'skip' | 'failed' | 'late' => {
      if (!(error instanceof UpstreamError)) throw error;
      if (error.kind === 'auth') throw error;
      if (error.kind === 'deadline') {
        outOfTime = true;
        return 'late';
      }
      if (error.kind === 'not-found') {
        tally(skipped, `${what} not found at OpenAQ (404)`);
        return 'skip';
      }
      context.report(`${what}: ${error.message} (${error.url})`);
      tally(failed, `${what}: ${error.message}`);
      return 'failed';
    };

    /** A sensor's measurements since it was last fetched, every page; null when they failed. */
    async function measurementsOf(sensor: FollowedSensor): Promise<UpstreamValue[] | null> {
      const path = `/v3/sensors/${sensor.id}/measurements`;
      const values: UpstreamValue[] = [];
      for (let page = 1; page <= MAX_MEASUREMENT_PAGES; page += 1) {
        // From the last value fetched, inclusive: whether OpenAQ filters on the start or the end of
        // a period, nothing after it is missed; the one value already fetched is dropped here.
        const query = {
          datetime_from: isoInstant(sensor.after),
          datetime_to: isoInstant(context.now.getTime()),
          limit: PAGE_SIZE,
          page,
        };
        context.steps.plan(1);
        try {
          const parsed = parseMeasurements(
            await upstream.request(path, { query, deadline: context.deadline }),
          );
          context.steps.done();
          if (!parsed.ok) {
            malformed(
              upstream.url(path, query),
              `measurements of sensor ${sensor.id}`,
              parsed.problem,
            );
            return null;
          }
          values.push(...parsed.value.values);
          if (parsed.value.size < PAGE_SIZE) break;
        } catch (error) {
          context.steps.done();
          if (failure(error, `sensor ${sensor.id}`) === 'late') {
            tally(
              skipped,
              `sensors not reached within the ${context.interval} interval (rate budget)`,
            );
          }
          return null;
        }
      }
      return values;
    }

    // 1. Every Belgian location with its sensors, a page of 1,000 at a time.
    const locations: Location[] = [];
    for (let page = 1; page <= MAX_PAGES; page += 1) {
      context.steps.plan(1);
      const query = { iso: 'BE', limit: PAGE_SIZE, page };
      let parsed: ReturnType<typeof parseLocations>;
      try {
        parsed = parseLocations(await upstream.request('/v3/locations', { query, deadline }));
      } catch (error) {
        failure(error, `locations page ${page}`);
        context.steps.done();
        break;
      }
      context.steps.done();
      if (!parsed.ok) {
        malformed(upstream.url('/v3/locations', query), `locations page ${page}`, parsed.problem);
        break;
      }
      locations.push(...parsed.value.locations);
      tally(skipped, 'location entries without an id', parsed.value.broken);
      const { found, size } = parsed.value;
      // meta.found is a count, or text such as ">1000": only a page shorter than the limit ends.
      if (size < PAGE_SIZE || (typeof found === 'number' && page * PAGE_SIZE >= found)) break;
    }

    // 2. What each location needs, the longest waiting first (a poll cut short by the rate
    //    budget leaves the others for the next one).
    const plans: { location: Location; city: string; sensors: FollowedSensor[] }[] = [];
    let idle = 0;
    for (const location of locations) {
      if (location.isMobile) {
        tally(skipped, 'mobile locations (their position moves)');
        continue;
      }
      // One sensor per pollutant: a location listing NO2 in µg/m³ and in ppm would store two
      // values under one key. The µg/m³ one (the lower parameter id) is kept.
      const byPollutant = new Map<PollutantCode, FollowedSensor>();
      for (const sensor of [...location.sensors].sort(
        (a, b) => (a.parameterId ?? 0) - (b.parameterId ?? 0) || a.id - b.id,
      )) {
        const pollutant = OPENAQ_PARAMETERS.get(sensor.parameterId ?? -1);
        if (!pollutant) continue;
        if (byPollutant.has(pollutant)) {
          tally(skipped, 'second sensors of a pollutant at one location (the first is kept)');
          continue;
        }
        const after = (context.progress.get(String(sensor.id)) ?? context.since).getTime();
        byPollutant.set(pollutant, { ...sensor, pollutant, after });
      }
      const sensors = [...byPollutant.values()];
      if (sensors.length === 0) {
        tally(skipped, 'locations that measure no pollutant belair follows');
        continue;
      }
      const city = location.locality ?? (stationCodeIn(location.name) ? location.name : null);
      if (city === null) {
        tally(skipped, 'locations with no locality and no station code in their name');
        continue;
      }
      const last = location.datetimeLast;
      const oldest = Math.min(...sensors.map((s) => s.after));
      if (last !== null && last <= Math.min(oldest, context.since.getTime())) {
        idle += sensors.length;
        continue;
      }
      plans.push({ location, city, sensors });
    }
    plans.sort(
      (a, b) =>
        Math.min(...a.sensors.map((s) => s.after)) - Math.min(...b.sensors.map((s) => s.after)) ||
        a.location.id - b.location.id,
    );

    // 3. The latest values of each location (one request), and the measurements of the sensors
    //    that are further behind (one request each).
    const batches: SeriesFetch[] = [];
    let fetched = 0;
    let stations = 0;
    let series = 0;
    let unreached = 0;
    context.steps.plan(plans.length);
    for (const plan of plans) {
      const { location } = plan;
      const upToDate =
        location.datetimeLast !== null &&
        plan.sensors.every((s) => s.after >= (location.datetimeLast ?? 0));
      stations += 1;
      series += plan.sensors.length;
      if (upToDate) {
        context.steps.done();
        continue;
      }
      if (outOfTime) {
        unreached += 1;
        context.steps.done();
        continue;
      }
      const path = `/v3/locations/${location.id}/latest`;
      let latest: LatestValue[];
      try {
        const parsed = parseLatest(await upstream.request(path, { deadline }));
        context.steps.done();
        if (!parsed.ok) {
          malformed(upstream.url(path), `latest of location ${location.id}`, parsed.problem);
          continue;
        }
        tally(skipped, 'latest values without a sensor or a time', parsed.value.broken);
        latest = parsed.value.values;
      } catch (error) {
        context.steps.done();
        if (failure(error, `location ${location.id}`) === 'late') unreached += 1;
        continue;
      }
      const byId = new Map(location.sensors.map((s) => [s.id, s]));
      const followed = new Map(plan.sensors.map((s) => [s.id, s]));
      const { licence, attribution } = licenceOf(location, context.now);
      const code = stationCodeIn(location.name);
      const item = (
        sensor: FollowedSensor,
        v: UpstreamValue & { latitude: unknown; longitude: unknown },
      ): FeedItem => ({
        location: location.name ?? `OpenAQ location ${location.id}`,
        city: plan.city,
        country: location.country ?? 'BE',
        parameter: sensor.pollutant,
        value: v.value,
        unit: sensor.units,
        measuredAt: new Date(v.time).toISOString(),
        latitude: v.latitude ?? location.latitude,
        longitude: v.longitude ?? location.longitude,
        sourceName: location.provider,
        sourceType: location.isMonitor ? 'monitor' : 'sensor',
        stationCode: code,
        licence,
        attribution,
      });
      for (const value of latest) {
        const sensor = byId.get(value.sensorId);
        if (!sensor) {
          tally(skipped, 'latest values of a sensor the location does not list');
          continue;
        }
        const mine = followed.get(value.sensorId);
        if (!mine) {
          tally(
            skipped,
            OPENAQ_PARAMETERS.has(sensor.parameterId ?? -1)
              ? 'values of a second sensor of a pollutant at one location'
              : `parameter ${sensor.parameterName} is not a pollutant belair follows`,
          );
          continue;
        }
        if (value.time <= mine.after) continue;
        let values: UpstreamValue[] = [value];
        if (value.time - mine.after > HOUR) {
          // Further behind than its latest value: its measurements since it was last fetched.
          const measured = await measurementsOf(mine);
          if (measured === null) continue;
          values = measured;
        }
        const fresh = newValues(values, mine.after, skipped);
        fetched += fresh.received;
        batches.push({
          series: String(mine.id),
          until: fresh.until === null ? null : new Date(fresh.until),
          items: fresh.values.map((v) =>
            item(mine, v as UpstreamValue & { latitude: unknown; longitude: unknown }),
          ),
        });
      }
    }
    if (unreached > 0) {
      context.report(
        `OpenAQ: the poll could not finish within its ${context.interval} interval: ${unreached} locations skipped (${budget.describe()}); the next poll starts with them`,
      );
      tally(
        skipped,
        `locations not reached within the ${context.interval} interval (rate budget)`,
        unreached,
      );
    }
    return { stations, series, idle, fetched, batches, skipped, failed };
  }

  return {
    name: 'openaq',
    title: 'OpenAQ',
    upstream,
    budget: () => budget.describe(),
    poll,
  };
}
