/**
 * The operations GraphiQL opens with at /graphql, one tab each. They work against a fresh
 * database once a few measurements are in (the ingestion tab sends two).
 */
const cityWindow = `# The current 3-hour window of one city (any of its names: Antwerpen, Anvers, Antwerp).
query CityWindow {
  city(name: "Antwerpen", country: "BE") {
    name
    airQuality {
      windowStart
      windowEnd
      belaqi
      eaqi
      pollutants { parameter average min max count locations latestMeasuredAt belaqi eaqi }
    }
  }
}
`;

const allCities = `# Every city's current window, worst index first in your head, by name on the wire.
query AllCities {
  airQuality(country: "BE") {
    city { name latitude longitude }
    belaqi
    eaqi
    pollutants { parameter average }
    run { id evaluatedAt }
  }
}
`;

const ingest = `# Writes need a token: the Headers tab holds Authorization: Bearer <token>, with a token from
# the server's API_TOKENS (API_TOKENS=dev-token npm start in development).
# Then run refreshAirQuality to aggregate at once instead of waiting for the 5-minute event.
mutation IngestTwo($now: DateTime!) {
  ingestMeasurements(measurements: [
    { location: "BETR801", city: "Antwerpen", country: "BE", parameter: PM10, value: 23.5,
      unit: "µg/m³", measuredAt: $now, latitude: 51.2094, longitude: 4.4314,
      sourceName: "EEA Belgium", sourceType: "government" }
    { location: "BETR801", city: "Antwerpen", country: "BE", parameter: NO2, value: 0.021,
      unit: "ppm", measuredAt: $now, latitude: 51.2094, longitude: 4.4314 }
  ]) {
    received inserted updated unchanged
    rejected { index reason }
  }
}

mutation Refresh {
  refreshAirQuality { id evaluatedAt measurements cities durationMs }
}
`;

const subscription = `# Each new window of Antwerpen as soon as MariaDB computes it: the current one at once, then
# one per run (the 5-minute event, refreshAirQuality, or a CALL from elsewhere).
subscription Antwerpen {
  airQuality(cities: ["Antwerpen"]) {
    city { name }
    run { evaluatedAt }
    belaqi
    eaqi
    pollutants { parameter average }
  }
}
`;

export function graphiqlTabs(now: Date = new Date()) {
  return [
    { query: cityWindow },
    { query: allCities },
    {
      query: ingest,
      headers: JSON.stringify({ Authorization: 'Bearer dev-token' }, null, 2),
      variables: JSON.stringify({ now: new Date(now.getTime() - 60_000).toISOString() }, null, 2),
    },
    { query: subscription },
  ];
}
