import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMeasurements } from '../src/ingest/ingest-measurements.js';
import type { MeasurementItem } from '../src/ingest/validate-measurement.js';
import type { App } from '../src/server/app.js';
import { graphql, testApp, withToken } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { wsClient, wsSubscribe } from './helpers/live-clients.js';

let t: TestDatabase;
let app: App;

const NOW = new Date();
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

function item(fields: Partial<MeasurementItem> & Pick<MeasurementItem, 'city' | 'location'>) {
  return {
    country: 'BE',
    parameter: 'pm10',
    value: 20,
    unit: 'µg/m³',
    measuredAt: minutesAgo(30),
    ...fields,
  };
}

async function rows<T = RowDataPacket>(sql: string, values: unknown[] = []): Promise<T[]> {
  const [result] = await t.pool.query<RowDataPacket[]>(sql, values);
  return result as T[];
}

/** Every station with its city, as stored. */
async function storedStations(): Promise<string[]> {
  const found = await rows<{ country: string; city: string; location: string }>(
    `SELECT c.country, c.name AS city, l.name AS location
     FROM location l JOIN city c ON c.id = l.city_id ORDER BY c.country, c.name, l.name`,
  );
  return found.map((r) => `${r.country} ${r.city} ${r.location}`);
}

beforeAll(async () => {
  t = await createTestDatabase(import.meta.filename);
  app = testApp(t);
});

afterAll(async () => {
  await app.stop();
  await t.drop();
});

describe('the reference tables', () => {
  it('name every mapped city in four languages, and make every name an alias of its city', async () => {
    expect(
      await rows(
        `SELECT city, nl, fr, de, en FROM city_name
         WHERE city IN ('Antwerpen', 'Brussels', 'Gent', 'Liège', 'Mons', 'Namur', 'Leuven')
         ORDER BY city`,
      ),
    ).toEqual([
      { city: 'Antwerpen', nl: 'Antwerpen', fr: 'Anvers', de: 'Antwerpen', en: 'Antwerp' },
      { city: 'Brussels', nl: 'Brussel', fr: 'Bruxelles', de: 'Brüssel', en: 'Brussels' },
      { city: 'Gent', nl: 'Gent', fr: 'Gand', de: 'Gent', en: 'Ghent' },
      { city: 'Leuven', nl: 'Leuven', fr: 'Louvain', de: 'Löwen', en: 'Leuven' },
      { city: 'Liège', nl: 'Luik', fr: 'Liège', de: 'Lüttich', en: 'Liège' },
      { city: 'Mons', nl: 'Bergen', fr: 'Mons', de: 'Mons', en: 'Mons' },
      { city: 'Namur', nl: 'Namen', fr: 'Namur', de: 'Namur', en: 'Namur' },
    ]);
    // Every name of every city leads back to it.
    expect(
      await rows(
        `SELECT n.city, x.name FROM city_name n
         JOIN (SELECT country, city, nl AS name FROM city_name UNION ALL
               SELECT country, city, fr FROM city_name UNION ALL
               SELECT country, city, de FROM city_name UNION ALL
               SELECT country, city, en FROM city_name) x ON x.country = n.country AND x.city = n.city
         LEFT JOIN city_alias a ON a.country = x.country AND a.alias = x.name AND a.city = x.city
         WHERE a.alias IS NULL`,
      ),
    ).toEqual([]);
  });

  it('count the 19 communes of the Brussels-Capital Region as Brussels, in French and Dutch', async () => {
    const communes = [
      ['Anderlecht', 'Anderlecht'],
      ['Auderghem', 'Oudergem'],
      ['Berchem-Sainte-Agathe', 'Sint-Agatha-Berchem'],
      ['Bruxelles', 'Brussel'],
      ['Etterbeek', 'Etterbeek'],
      ['Evere', 'Evere'],
      ['Forest', 'Vorst'],
      ['Ganshoren', 'Ganshoren'],
      ['Ixelles', 'Elsene'],
      ['Jette', 'Jette'],
      ['Koekelberg', 'Koekelberg'],
      ['Molenbeek-Saint-Jean', 'Sint-Jans-Molenbeek'],
      ['Saint-Gilles', 'Sint-Gillis'],
      ['Saint-Josse-ten-Noode', 'Sint-Joost-ten-Node'],
      ['Schaerbeek', 'Schaarbeek'],
      ['Uccle', 'Ukkel'],
      ['Watermael-Boitsfort', 'Watermaal-Bosvoorde'],
      ['Woluwe-Saint-Lambert', 'Sint-Lambrechts-Woluwe'],
      ['Woluwe-Saint-Pierre', 'Sint-Pieters-Woluwe'],
    ].flat();
    const found = await rows<{ alias: string; city: string }>(
      "SELECT alias, city FROM city_alias WHERE country = 'BE' AND alias IN (?) ORDER BY alias",
      [communes],
    );
    expect(found).toHaveLength(new Set(communes).size);
    expect(new Set(found.map((r) => r.city))).toEqual(new Set(['Brussels']));
  });

  it('leave provinces and regions alone: they are no municipality', async () => {
    expect(
      await rows(
        `SELECT alias FROM city_alias WHERE alias IN
           ('Brussels-Capital Region', 'Région de Bruxelles-Capitale', 'Oost-Vlaanderen',
            'Vlaams-Brabant', 'Brabant wallon', 'Hainaut', 'Limburg')`,
      ),
    ).toEqual([]);
  });

  it('place every station by both its codes, each in a named municipality', async () => {
    expect(
      await rows(
        `SELECT code, city, label FROM station_city
         WHERE code IN ('42R803', 'BETR803', '41WOL1', '43R223', '47E716', '41N043', '47E013')
         ORDER BY code`,
      ),
    ).toEqual([
      { code: '41N043', city: 'Brussels', label: '41N043 - Haren' },
      { code: '41WOL1', city: 'Brussels', label: '41WOL1 - Wol.St.L.' },
      { code: '42R803', city: 'Antwerpen', label: '42R803 - Antwerpen (Park Spoor Noord)' },
      { code: '43R223', city: 'Seraing', label: '43R223 - Jemeppe' },
      { code: '47E013', city: 'Brussels', label: '47E013 - Vorst' },
      { code: '47E716', city: 'Gent', label: '47E716 - Mariakerke' },
      { code: 'BETR803', city: 'Antwerpen', label: '42R803 - Antwerpen (Park Spoor Noord)' },
    ]);
    // The two codes of a station say the same.
    expect(
      await rows(
        `SELECT a.label FROM station_city a JOIN station_city b ON a.label = b.label
         WHERE a.city <> b.city`,
      ),
    ).toEqual([]);
  });
});

describe('ingestion', () => {
  it('stores an alias under its city and a known station under its municipality', async () => {
    const result = await ingestMeasurements(t.pool, [
      item({ city: 'Anvers', location: 'Anvers-1' }),
      item({ city: 'Borgerhout', location: 'Borgerhout-1' }),
      item({ city: 'Bruxelles', location: 'Bruxelles-1' }),
      item({ city: 'Vorst', location: 'Vorst-1' }),
      item({ city: 'Brussel', location: 'Brussel-1' }),
      // The station table decides where a label cannot: Jemeppe is in Seraing and in
      // Jemeppe-sur-Sambre, Wol.St.L. is no name at all.
      item({ city: 'Jemeppe', location: '43R223 - Jemeppe', stationCode: '43R223' }),
      item({ city: 'Wol.St.L.', location: '41WOL1 - Wol.St.L.', stationCode: '41WOL1' }),
      item({ city: 'BETR831', location: 'BETR831', stationCode: 'BETR831' }),
      // An unknown station code falls back to the city's name, and through its aliases.
      item({ city: 'Luik', location: '43R999 - Luik', stationCode: '43R999' }),
      // Provinces, regions and other countries' cities are kept as sent.
      item({ city: 'Brussels-Capital Region', location: 'BETN043' }),
      item({ city: 'Oost-Vlaanderen', location: 'BETR701' }),
      item({ city: 'Bergen', country: 'NO', location: 'Danmarksplass' }),
    ]);
    expect(result).toEqual({ received: 12, inserted: 12, updated: 0, unchanged: 0, rejected: [] });
    expect(await storedStations()).toEqual([
      'BE Antwerpen Anvers-1',
      'BE Antwerpen BETR831',
      'BE Antwerpen Borgerhout-1',
      'BE Brussels 41WOL1 - Wol.St.L.',
      'BE Brussels Brussel-1',
      'BE Brussels Bruxelles-1',
      'BE Brussels Vorst-1',
      'BE Brussels-Capital Region BETN043',
      'BE Liège 43R999 - Luik',
      'BE Oost-Vlaanderen BETR701',
      'BE Seraing 43R223 - Jemeppe',
      'NO Bergen Danmarksplass',
    ]);
  });

  it("keeps a station's licence and credit, and a batch without them erases nothing", async () => {
    const licensed = {
      city: 'Gent',
      location: '44R701 - Gent',
      stationCode: '44R701',
      sourceName: 'IRCEL-CELINE',
      licence: 'CC BY 4.0',
      attribution: 'IRCEL-CELINE, https://www.irceline.be',
    };
    await ingestMeasurements(t.pool, [item(licensed)]);
    await ingestMeasurements(t.pool, [
      item({ city: 'Gent', location: '44R701 - Gent', measuredAt: minutesAgo(20) }),
    ]);
    expect(
      await rows(
        "SELECT source_name, licence, attribution FROM location WHERE name = '44R701 - Gent'",
      ),
    ).toEqual([
      {
        source_name: 'IRCEL-CELINE',
        licence: 'CC BY 4.0',
        attribution: 'IRCEL-CELINE, https://www.irceline.be',
      },
    ]);
    const { data } = await graphql(
      app,
      '{ city(name: "Ghent") { locations { name sourceName licence attribution } } }',
    );
    expect(data.city.locations).toEqual([
      {
        name: '44R701 - Gent',
        sourceName: 'IRCEL-CELINE',
        licence: 'CC BY 4.0',
        attribution: 'IRCEL-CELINE, https://www.irceline.be',
      },
    ]);
  });

  it('rejects an empty station code and a licence too long for its column', async () => {
    const { data } = await graphql(
      app,
      `mutation ($m: [MeasurementInput!]!) { ingestMeasurements(measurements: $m) { inserted rejected { index reason } } }`,
      {
        m: [
          {
            ...item({ city: 'Gent', location: 'X', stationCode: ' ', licence: 'x'.repeat(129) }),
            parameter: 'PM10',
            measuredAt: minutesAgo(10).toISOString(),
          },
        ],
      },
      withToken,
    );
    expect(data.ingestMeasurements).toEqual({
      inserted: 0,
      rejected: [
        {
          index: 0,
          reason: `stationCode is empty: leave it out or send its value. licence "${'x'.repeat(40)}"… (129 characters) is longer than the 128 characters allowed.`,
        },
      ],
    });
  });
});

describe('over GraphQL', () => {
  beforeAll(async () => {
    // A city stored under a name before that name became an alias of another city.
    await t.pool.query("INSERT INTO city (country, name) VALUES ('BE', 'Bruxelles')");
    await graphql(app, 'mutation { refreshAirQuality { id } }', {}, withToken);
  });

  it('finds a city by any of its names, and gives them all', async () => {
    const { data } = await graphql(
      app,
      `{ luik: city(name: "Luik") { name names { nl fr de en } }
         antwerp: city(name: "Antwerp") { name names { nl fr de en } }
         ukkel: city(name: "Ukkel") { name }
         marcinelle: city(name: "Marcinelle") { name }
         bergen: city(name: "Bergen", country: "NO") { name country names { nl fr de en } }
         province: city(name: "Oost-Vlaanderen") { name names { en } }
         nowhere: city(name: "Nowhere") { name } }`,
    );
    expect(data).toEqual({
      luik: { name: 'Liège', names: { nl: 'Luik', fr: 'Liège', de: 'Lüttich', en: 'Liège' } },
      antwerp: {
        name: 'Antwerpen',
        names: { nl: 'Antwerpen', fr: 'Anvers', de: 'Antwerpen', en: 'Antwerp' },
      },
      ukkel: { name: 'Brussels' },
      // No measurement in Charleroi yet: no city.
      marcinelle: null,
      // Bergen is Mons in Belgium only; a city with no names row is named by its name.
      bergen: {
        name: 'Bergen',
        country: 'NO',
        names: { nl: 'Bergen', fr: 'Bergen', de: 'Bergen', en: 'Bergen' },
      },
      province: { name: 'Oost-Vlaanderen', names: { en: 'Oost-Vlaanderen' } },
      nowhere: null,
    });
  });

  it('gives every city its names in the list of cities', async () => {
    const { data } = await graphql(app, '{ cities(country: "BE") { name names { fr } } }');
    expect(data.cities).toEqual([
      { name: 'Antwerpen', names: { fr: 'Anvers' } },
      { name: 'Brussels', names: { fr: 'Bruxelles' } },
      { name: 'Brussels-Capital Region', names: { fr: 'Brussels-Capital Region' } },
      { name: 'Bruxelles', names: { fr: 'Bruxelles' } },
      { name: 'Gent', names: { fr: 'Gand' } },
      { name: 'Liège', names: { fr: 'Liège' } },
      { name: 'Oost-Vlaanderen', names: { fr: 'Oost-Vlaanderen' } },
      { name: 'Seraing', names: { fr: 'Seraing' } },
    ]);
  });

  it('answers airQuality(cities:) by any name, a city once however many of its names are asked', async () => {
    const { data } = await graphql(
      app,
      `{ airQuality(cities: ["Anvers", "Antwerp", "Brüssel", "Lüttich", "Jemeppe"]) {
           city { name } pollutants { parameter count } } }`,
    );
    expect(data.airQuality).toEqual([
      { city: { name: 'Antwerpen' }, pollutants: [{ parameter: 'PM10', count: 3 }] },
      { city: { name: 'Brussels' }, pollutants: [{ parameter: 'PM10', count: 4 }] },
      { city: { name: 'Liège' }, pollutants: [{ parameter: 'PM10', count: 1 }] },
    ]);
  });

  it('subscribes to airQuality(cities:) by any name', async () => {
    const { port } = await app.start(0);
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`);
    try {
      const received = wsSubscribe(client, {
        query:
          'subscription { airQuality(cities: ["Bruxelles", "Gand"], country: "be") { city { name names { de } } } }',
      });
      await received.until((r) => r.results.length >= 2, 'the current windows');
      expect(received.values('airQuality')).toEqual([
        { city: { name: 'Brussels', names: { de: 'Brüssel' } } },
        { city: { name: 'Gent', names: { de: 'Gent' } } },
      ]);
    } finally {
      await client.dispose();
    }
  });
});
