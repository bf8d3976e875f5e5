import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import { graphql, testApp, withToken } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
});
afterAll(async () => {
  await t?.drop();
});

/** The pool, recording the name (the leading comment) of every statement sent through it. */
function countingPool(pool: Pool): { pool: Pool; statements: string[] } {
  const statements: string[] = [];
  const record = (sql: unknown) => {
    const text = typeof sql === 'string' ? sql : String((sql as { sql?: string }).sql);
    statements.push(/\/\*\s*(\w+)\s*\*\//.exec(text)?.[1] ?? text.slice(0, 40));
  };
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query' || property === 'execute') {
        return (sql: unknown, ...rest: unknown[]) => {
          record(sql);
          // biome-ignore lint/suspicious/noExplicitAny: forwarding whatever mysql2 accepts
          return (target as any)[property](sql, ...rest);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { pool: counted, statements };
}

const AT = '2026-05-01T12:00:00.000Z';
const QUERY =
  '{ cities { name airQuality { belaqi pollutants { parameter average } } locations { name } } }';

async function addCities(from: number, to: number) {
  const items = [];
  for (let c = from; c < to; c += 1) {
    for (const station of ['A', 'B']) {
      for (const parameter of ['pm10', 'no2']) {
        items.push({
          location: `${station}${c}`,
          city: `City ${String(c).padStart(2, '0')}`,
          country: 'BE',
          parameter,
          value: 10 + c,
          unit: 'µg/m³',
          measuredAt: '2026-05-01T11:00:00Z',
        });
      }
    }
  }
  await ingestMeasurements(t.pool, items);
}

describe('DataLoaders', () => {
  it('answer the cities query with the same statements for 2 and for 20 cities', async () => {
    const { pool, statements } = countingPool(t.pool);
    const app = testApp(t, {}, { pool });

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

    expect(two).toEqual(['listCities', 'listCurrentWindows', 'listLocationsByCityIds']);
    expect(twenty).toEqual(two);
  });
});
