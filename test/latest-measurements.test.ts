import { describe, expect, it } from 'vitest';
import { graphql, testApp, withToken } from './helpers/app.js';
import { countingPool } from './helpers/counting-pool.js';
import { useTestDatabase } from './helpers/database.js';
import { type MeasurementJson, measurement } from './helpers/measurements.js';

const t = useTestDatabase(import.meta.filename);

const QUERY = `{ cities(country: "BE") { name
  locations { name latest { parameter value unit measuredAt } } } }`;

const item = measurement;

async function ingest(items: MeasurementJson[]) {
  const result = await graphql(
    testApp(t),
    'mutation ($m: [MeasurementInput!]!) { ingestMeasurements(measurements: $m) { inserted rejected { reason } } }',
    { m: items },
    withToken,
  );
  expect(result.data.ingestMeasurements.rejected).toEqual([]);
}

describe('Location.latest', () => {
  it("answers each station's latest value per pollutant, in µg/m³ with the unit sent", async () => {
    await ingest([
      item('Antwerpen', 'BETR801', 'NO2', 30, '2026-05-01T10:00:00Z'),
      item('Antwerpen', 'BETR801', 'NO2', 42.5, '2026-05-01T11:00:00Z'),
      // A late measurement of an earlier hour does not replace the latest one.
      item('Antwerpen', 'BETR801', 'NO2', 99, '2026-05-01T09:00:00Z'),
      item('Antwerpen', 'BETR801', 'PM10', 18, '2026-05-01T10:30:00Z'),
      item('Antwerpen', 'BETR802', 'CO', 0.5, '2026-05-01T11:15:00Z', 'ppm'),
      item('Gent', 'BETN012', 'O3', 61, '2026-05-01T08:00:00Z'),
    ]);
    const result = await graphql(testApp(t), QUERY);
    expect(result.errors).toBeUndefined();
    expect(result.data.cities).toEqual([
      {
        name: 'Antwerpen',
        locations: [
          {
            name: 'BETR801',
            latest: [
              {
                parameter: 'NO2',
                value: 42.5,
                unit: 'µg/m³',
                measuredAt: '2026-05-01T11:00:00.000Z',
              },
              {
                parameter: 'PM10',
                value: 18,
                unit: 'µg/m³',
                measuredAt: '2026-05-01T10:30:00.000Z',
              },
            ],
          },
          {
            name: 'BETR802',
            // 0.5 ppm × 1000 × 28.010 / 24.45
            latest: [
              {
                parameter: 'CO',
                value: (0.5 * 1000 * 28.01) / 24.45,
                unit: 'ppm',
                measuredAt: '2026-05-01T11:15:00.000Z',
              },
            ],
          },
        ],
      },
      {
        name: 'Gent',
        locations: [
          {
            name: 'BETN012',
            latest: [
              { parameter: 'O3', value: 61, unit: 'µg/m³', measuredAt: '2026-05-01T08:00:00.000Z' },
            ],
          },
        ],
      },
    ]);
  });

  it('costs the same statements for a map of 3 stations and of 60', async () => {
    const { pool, statements } = countingPool(t.pool);
    const app = testApp(t, {}, { pool });
    const statementsOf = async () => {
      statements.length = 0;
      const result = await graphql(app, QUERY);
      expect(result.errors).toBeUndefined();
      return {
        stations: result.data.cities.flatMap((c: { locations: unknown[] }) => c.locations),
        statements: [...statements].sort(),
      };
    };
    const few = await statementsOf();
    expect(few.stations).toHaveLength(3);

    const items = [];
    for (let c = 0; c < 20; c += 1) {
      for (const station of ['A', 'B', 'C']) {
        items.push(item(`Town ${c}`, `${station}${c}`, 'NO2', c, '2026-05-01T11:00:00Z'));
        items.push(item(`Town ${c}`, `${station}${c}`, 'PM25', c / 2, '2026-05-01T11:00:00Z'));
      }
    }
    await ingest(items);
    const many = await statementsOf();
    expect(many.stations).toHaveLength(63);
    expect(many.stations.at(-1)).toEqual({
      name: 'C9',
      latest: [
        { parameter: 'NO2', value: 9, unit: 'µg/m³', measuredAt: '2026-05-01T11:00:00.000Z' },
        { parameter: 'PM25', value: 4.5, unit: 'µg/m³', measuredAt: '2026-05-01T11:00:00.000Z' },
      ],
    });
    expect(few.statements).toEqual([
      'listCities',
      'listLatestMeasurements',
      'listLocationsByCityIds',
    ]);
    expect(many.statements).toEqual(few.statements);
  });
});
