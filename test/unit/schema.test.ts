import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printSchemaText } from '../../src/schema/print.js';

describe('schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema` when this fails)', async () => {
    const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    const built = printSchemaText();
    if (committed !== built) {
      expect.fail(
        'schema.graphql is stale: run `npm run schema` and commit the result.\n' +
          'The first difference is at character ' +
          [...built].findIndex((char, i) => committed[i] !== char),
      );
    }
    expect(committed).toBe(built);
  });

  it('holds every name of the GraphQL contract in docs/architecture.md', () => {
    // Without descriptions and blank lines: names, types, arguments and order only.
    const sdl = printSchemaText()
      .replace(/ *"""[\s\S]*?"""\n/g, '')
      .replace(/\n{2,}/g, '\n');
    for (const line of [
      'scalar DateTime',
      'enum Pollutant {\n  PM25\n  PM10\n  NO2\n  O3\n  SO2\n  CO\n  BC\n}',
      'enum EaqiLevel {\n  GOOD\n  FAIR\n  MODERATE\n  POOR\n  VERY_POOR\n  EXTREMELY_POOR\n}',
      'input MeasurementInput {\n  location: String!\n  city: String!\n  country: String!\n  parameter: Pollutant!\n  value: Float!\n  unit: String!\n  measuredAt: DateTime!\n  latitude: Float\n  longitude: Float\n  sourceName: String\n  sourceType: String\n}',
      'type IngestResult {\n  received: Int!\n  inserted: Int!\n  updated: Int!\n  unchanged: Int!\n  rejected: [Rejection!]!\n}',
      'type Rejection {\n  index: Int!\n  reason: String!\n}',
      'type AirQualityRun {\n  id: ID!\n  evaluatedAt: DateTime!\n  windowStart: DateTime!\n  windowEnd: DateTime!\n  measurements: Int!\n  cities: Int!\n  durationMs: Float\n}',
      'type PollutantWindow {\n  parameter: Pollutant!\n  unit: String!\n  average: Float!\n  min: Float!\n  max: Float!\n  count: Int!\n  locations: Int!\n  latestMeasuredAt: DateTime!\n  belaqi: Int\n  eaqi: EaqiLevel\n}',
      'type CityAirQuality {\n  city: City!\n  run: AirQualityRun!\n  windowStart: DateTime!\n  windowEnd: DateTime!\n  belaqi: Int\n  eaqi: EaqiLevel\n  pollutants: [PollutantWindow!]!\n}',
      'type City {\n  name: String!\n  country: String!\n  latitude: Float\n  longitude: Float\n  locations: [Location!]!\n  airQuality: CityAirQuality\n  history(from: DateTime!, to: DateTime!): [CityAirQuality!]!\n}',
      // Open-ended: fields added to Location since come after these.
      'type Location {\n  name: String!\n  city: City!\n  latitude: Float\n  longitude: Float\n  sourceName: String\n  sourceType: String\n  latest: [LatestMeasurement!]!\n',
      'type LatestMeasurement {\n  parameter: Pollutant!\n  value: Float!\n  unit: String!\n  measuredAt: DateTime!\n}',
      'type AirQualityAlert {\n  city: City!\n  run: AirQualityRun!\n  previous: Int\n  current: Int!\n  rising: Boolean!\n}',
      '  airQualityAlerts(\n    cities: [String!]\n    country: String\n    atLeast: Int!\n  ): AirQualityAlert!',
      '  cities(country: String): [City!]!',
      '  city(name: String!, country: String = "BE"): City',
      '  airQuality(cities: [String!], country: String): [CityAirQuality!]!',
      '  airQualityRuns(last: Int = 10): [AirQualityRun!]!',
      '  ingestMeasurements(measurements: [MeasurementInput!]!): IngestResult!',
      '  refreshAirQuality(at: DateTime): AirQualityRun!',
      // Additions of the second round
      'type CityNames {\n  nl: String!\n  fr: String!\n  de: String!\n  en: String!\n}',
      '  names: CityNames!',
    ]) {
      // A type's fields come first and in this order; fields added later follow them.
      expect(sdl).toContain(
        line.endsWith('\n}') && !line.startsWith('enum') ? line.slice(0, -1) : line,
      );
    }
  });
});
