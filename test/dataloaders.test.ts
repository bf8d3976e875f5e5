import { describe, expect, it } from 'vitest';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { graphql, testApp, withToken } from './helpers/app.js';
import { countingPool } from './helpers/counting-pool.js';
import { useTestDatabase } from './helpers/database.js';
import { measurement } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);

const AT = '2026-05-01T12:00:00.000Z';
const QUERY =
  '{ cities { name airQuality { belaqi pollutants { parameter average } } locations { name } } }';

async function addCities(from: number, to: number) {
  const items = [];
  for (let c = from; c < to; c += 1) {
    for (const station of ['A', 'B']) {
      for (const parameter of ['pm10', 'no2']) {
        const city = `City ${String(c).padStart(2, '0')}`;
        items.push(measurement(city, `${station}${c}`, parameter, 10 + c, '2026-05-01T11:00:00Z'));
      }
    }
  }
  await ingestMeasurements(t.pool, items);
}

describe('DataLoaders', () => {
  it('answer the cities query with the same statements for 2 and for 20 cities', async () => {
    const { pool, statements } = countingPool(t.pool);
    // A poll interval far longer than the test: the snapshot the mutation leaves stays fresh, and
    // no background poll lands among the statements counted.
    const app = testApp(t, { POLL_INTERVAL_MS: '600000' }, { pool });

    const run = async (cities: number) => {
      await graphql(
        app,
        'mutation($at: DateTime) { refreshAirQuality(at: $at) { id } }',
        { at: AT },
        withToken,
      );
      statements.length = 0;
      const result = await graphql(app, QUERY);
      expect(result.errors).toBeUndefined();
      expect(result.data.cities).toHaveLength(cities);
      for (const city of result.data.cities) {
        expect(city.airQuality.pollutants).toHaveLength(2);
        expect(city.locations).toHaveLength(2);
      }
      return [...statements].sort();
    };

    await addCities(0, 2);
    const two = await run(2);
    await addCities(2, 20);
    const twenty = await run(20);

    // The windows come from the live feed's snapshot of the run the mutation made: no SQL.
    expect(two).toEqual(['listCities', 'listLocationsByCityIds']);
    expect(twenty).toEqual(two);

    // Without the feed (stopped here), the windows are read from MariaDB, batched all the same.
    await app.stop();
    statements.length = 0;
    const result = await graphql(app, QUERY);
    expect(result.data.cities).toHaveLength(20);
    expect(result.data.cities[19].airQuality.pollutants).toHaveLength(2);
    expect([...statements].sort()).toEqual([
      'listCities',
      'listCurrentWindows',
      'listLocationsByCityIds',
    ]);
  });
});
