import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alertCrossings, alertState, selectAlerts } from '../src/air-quality/alerts.js';
import { indexRunWindows } from '../src/air-quality/run-windows.js';
import type { CityWindow } from '../src/db/air-quality.js';
import type { AirQualityRun } from '../src/db/runs.js';
import type { App } from '../src/server/app.js';
import { graphql, testApp, withToken } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { type Operation, type Received, wsClient, wsSubscribe } from './helpers/live-clients.js';

/** A run of its own id, evaluated id minutes after 12:00. */
function run(id: number): AirQualityRun {
  const at = new Date(Date.UTC(2026, 4, 1, 12, id));
  return {
    id,
    evaluatedAt: at,
    windowStart: new Date(at.getTime() - 3 * 3_600_000),
    windowEnd: at,
    measurements: 1,
    cities: 1,
    durationMs: 1,
  };
}

/** Windows of the given cities (id: BelAQI, null for none) in one run. */
function windows(r: AirQualityRun, levels: Record<number, number | null>): CityWindow[] {
  return Object.entries(levels).map(([id, belaqi]) => ({
    cityId: Number(id),
    run: r,
    belaqi,
    eaqi: null,
    pollutants: [],
    city: { id: Number(id), country: 'BE', name: `City ${id}`, latitude: null, longitude: null },
  }));
}

const EVERY_CITY = { cityNames: null, country: null, atLeast: 6 };
const summary = (alerts: ReturnType<typeof alertState>) =>
  alerts.map((a) => [a.window.cityId, a.previous, a.current, a.rising]);

describe('alert crossings', () => {
  const first = indexRunWindows(run(1), windows(run(1), { 1: 7, 2: 3, 3: 6, 4: null }));
  const second = indexRunWindows(run(2), windows(run(2), { 1: 5, 2: 9, 3: 8, 4: 6, 5: 2 }), first);
  // City 1 has no window, city 2 only pollutants without BelAQI: their last levels stand.
  const third = indexRunWindows(run(3), windows(run(3), { 2: null, 3: 4, 4: 6 }), second);
  const fourth = indexRunWindows(run(4), windows(run(4), { 1: 9, 2: 2 }), third);

  it('states every city at or above the threshold, with its level before', () => {
    expect(summary(alertState(first, EVERY_CITY))).toEqual([
      [1, null, 7, true],
      [3, null, 6, true],
    ]);
    expect(summary(alertState(second, EVERY_CITY))).toEqual([
      [2, 3, 9, true],
      [3, 6, 8, true],
      [4, null, 6, true],
    ]);
  });

  it('pushes the cities that reached the threshold and those that fell back below it', () => {
    // 1: 7 → 5 falls back; 2: 3 → 9 rises; 3: 6 → 8 stays above; 4: none → 6 rises; 5: 2 stays.
    expect(summary(alertCrossings(second, EVERY_CITY))).toEqual([
      [1, 7, 5, false],
      [2, 3, 9, true],
      [4, null, 6, true],
    ]);
    // 3: 8 → 4 falls back; 4 stays at 6; 2 has no BelAQI: nothing said of it.
    expect(summary(alertCrossings(third, EVERY_CITY))).toEqual([[3, 8, 4, false]]);
    // 1 comes back after a run without it: compared with its last level (5); 2 likewise (9).
    expect(summary(alertCrossings(fourth, EVERY_CITY))).toEqual([
      [1, 5, 9, true],
      [2, 9, 2, false],
    ]);
    expect(summary(alertCrossings(first, EVERY_CITY))).toEqual([
      [1, null, 7, true],
      [3, null, 6, true],
    ]);
  });

  it('filters by city and threshold, a threshold counting as reached when equal', () => {
    const some = { cityNames: ['City 4', 'City 2', 'Nowhere'], country: 'BE', atLeast: 9 };
    expect(summary(alertCrossings(second, some))).toEqual([[2, 3, 9, true]]);
    expect(summary(alertCrossings(second, { ...some, country: 'NL' }))).toEqual([]);
    expect(summary(alertCrossings(second, { ...EVERY_CITY, atLeast: 1 }))).toEqual([
      [4, null, 6, true],
      [5, null, 2, true],
    ]);
  });

  it('hands every subscriber with the same filter the same objects', () => {
    const again = { cityNames: null, country: null, atLeast: 6 };
    expect(alertCrossings(second, again)).toBe(alertCrossings(second, EVERY_CITY));
    expect(alertState(second, again)).toBe(alertState(second, EVERY_CITY));
    expect(alertState(second, { ...again, atLeast: 7 })).not.toBe(alertState(second, again));
    // One subscriber: the state first, then crossings.
    const select = selectAlerts(EVERY_CITY);
    expect(select(first)).toBe(alertState(first, EVERY_CITY));
    expect(select(second)).toBe(alertCrossings(second, EVERY_CITY));
    expect(select(third)).toBe(alertCrossings(third, EVERY_CITY));
  });
});

describe('Subscription.airQualityAlerts', () => {
  let t: TestDatabase;
  let app: App & ReturnType<typeof testApp>;
  let wsUrl: string;
  const open: { dispose: () => unknown }[] = [];
  const HOUR = 3_600_000;
  // Three instants 4 h apart, so that each run's 3-hour window holds one of them only.
  const base = Date.now() - 13 * HOUR;
  const instants = [base, base + 4 * HOUR, base + 8 * HOUR];
  const at = (i: number) => new Date((instants[i] as number) + 60_000).toISOString();

  const ALERTS = `subscription ($cities: [String!], $atLeast: Int!) {
    airQualityAlerts(cities: $cities, country: "BE", atLeast: $atLeast) {
      city { name } run { id } previous current rising } }`;
  const op = (atLeast: number, cities?: string[]): Operation => ({
    query: ALERTS,
    variables: { atLeast, ...(cities ? { cities } : {}) },
  });

  async function mutate(query: string, variables: Record<string, unknown>) {
    const result = await graphql(app, query, variables, withToken);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  async function refresh(i: number): Promise<number> {
    const data = await mutate('mutation ($at: DateTime) { refreshAirQuality(at: $at) { id } }', {
      at: at(i),
    });
    return Number(data.refreshAirQuality.id);
  }

  function subscribe(operation: Operation) {
    const client = wsClient(wsUrl);
    open.push({ dispose: () => client.dispose() });
    return wsSubscribe(client, operation);
  }

  const pushed = (received: Received) =>
    received
      .values('airQualityAlerts')
      .map((a) => [a.city.name, Number(a.run.id), a.previous, a.current, a.rising]);

  beforeAll(async () => {
    t = await createTestDatabase(import.meta.filename);
    app = testApp(t, { POLL_INTERVAL_MS: '50' }, { live: { queryIdleMs: 100 } });
    const { port } = await app.start(0, '127.0.0.1');
    wsUrl = `ws://127.0.0.1:${port}/graphql`;
    // NO2 (µg/m³): 80 is BelAQI 10, 5 is 1, 25 is 4. Antwerpen goes 10 → 1 → 10, Gent stays at
    // 10, Leuven 1 → 4 → 1.
    const plan: [string, number[]][] = [
      ['Antwerpen', [80, 5, 80]],
      ['Gent', [80, 80, 80]],
      ['Leuven', [5, 25, 5]],
    ];
    await mutate(
      'mutation ($m: [MeasurementInput!]!) { ingestMeasurements(measurements: $m) { inserted } }',
      {
        m: plan.flatMap(([city, values]) =>
          values.map((value, i) => ({
            city,
            location: `${city}-1`,
            country: 'BE',
            parameter: 'NO2',
            value,
            unit: 'µg/m³',
            measuredAt: new Date(instants[i] as number).toISOString(),
          })),
        ),
      },
    );
  });
  afterEach(async () => {
    for (const handle of open.splice(0)) await handle.dispose();
  });
  afterAll(async () => {
    await app?.stop();
    await t?.drop();
  });

  it('pushes the current state first, then each crossing, one execution per alert for all', async () => {
    const r1 = await refresh(0);
    const same = [subscribe(op(6)), subscribe(op(6)), subscribe(op(6))];
    const antwerpOnly = subscribe(op(6, ['Antwerpen']));
    const low = subscribe(op(2));
    for (const received of [...same, antwerpOnly, low]) {
      await received.until(
        (r) => r.results.length >= (received === antwerpOnly ? 1 : 2),
        'the state',
      );
    }
    for (const received of same) {
      expect(pushed(received)).toEqual([
        ['Antwerpen', r1, null, 10, true],
        ['Gent', r1, null, 10, true],
      ]);
    }
    expect(pushed(antwerpOnly)).toEqual([['Antwerpen', r1, null, 10, true]]);
    expect(pushed(low)).toEqual(pushed(same[0] as Received));

    const before = app.liveStats().execution;
    const r2 = await refresh(1);
    for (const received of same) {
      await received.until((r) => r.results.length === 3, 'the crossings of the second run');
    }
    await antwerpOnly.until((r) => r.results.length === 2, 'Antwerpen falling back');
    await low.until((r) => r.results.length === 4, 'the crossings at level 2');
    const after = app.liveStats().execution;
    // Antwerpen fell back (one alert for the three same subscriptions, one for Antwerpen only);
    // at level 2 Antwerpen fell back and Leuven rose. Gent stayed above: nothing.
    expect(after.executions - before.executions).toBe(1 + 1 + 2);
    expect(after.deliveries - before.deliveries).toBe(3 + 1 + 2);
    for (const received of same) {
      expect(pushed(received).slice(2)).toEqual([['Antwerpen', r2, 10, 1, false]]);
    }
    expect(pushed(antwerpOnly).slice(1)).toEqual([['Antwerpen', r2, 10, 1, false]]);
    expect(pushed(low).slice(2)).toEqual([
      ['Antwerpen', r2, 10, 1, false],
      ['Leuven', r2, 1, 4, true],
    ]);

    // A late subscriber gets the current state of the second run, then the crossings as others.
    const late = subscribe(op(6));
    await late.until((r) => r.results.length === 1, 'the state of the second run');
    expect(pushed(late)).toEqual([['Gent', r2, 10, 10, true]]);
    const r3 = await refresh(2);
    await late.until((r) => r.results.length === 2, 'the crossings of the third run');
    expect(pushed(late).slice(1)).toEqual([['Antwerpen', r3, 1, 10, true]]);
    await same[0]?.until((r) => r.results.length === 4, 'the third run');
    expect(pushed(same[0] as Received).slice(3)).toEqual(pushed(late).slice(1));
    await low.until((r) => r.results.length === 6, 'the third run at level 2');
    expect(pushed(low).slice(4)).toEqual([
      ['Antwerpen', r3, 1, 10, true],
      ['Leuven', r3, 4, 1, false],
    ]);
    for (const received of [...same, antwerpOnly, low, late]) {
      expect(received.failures).toEqual([]);
    }
  });

  it('refuses a threshold that is no BelAQI level', async () => {
    const received = subscribe(op(11));
    await received.until((r) => r.failures.length > 0 || r.results.length > 0, 'an answer');
    const errors = (received.failures[0] ?? received.results[0]?.errors) as { message: string }[];
    expect(errors.map((e) => e.message)).toEqual([
      'atLeast 11 is not a BelAQI level: give a whole number from 1 to 10.',
    ]);
  });
});
