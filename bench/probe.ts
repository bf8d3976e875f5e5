import mysql from 'mysql2/promise';
import { migrate } from '../src/db/migrate.js';
import { connectionOptions } from '../src/db/pool.js';
import { BELGIAN_LAYOUT, bulkLoad, createStations, insertSeries } from './lib/generate.js';

const db = {
  host: '127.0.0.1',
  port: 3306,
  user: 'root',
  password: '',
  database: 'belair_bench_probe',
};
await migrate(db, { ensureEventScheduler: false });
const c = await mysql.createConnection(connectionOptions(db));
await c.query('ALTER EVENT refresh_air_quality DISABLE');
await c.query('ALTER EVENT purge_old_data DISABLE');
await createStations(c, BELGIAN_LAYOUT);
const p = BELGIAN_LAYOUT.pollutants;
await bulkLoad(c, async () => {
  await insertSeries(c, {
    end: new Date('2025-01-13T12:00:00Z'),
    perSeries: 500,
    stepMs: 60000,
    pollutants: p,
  });
  await insertSeries(c, {
    end: new Date('2025-01-14T12:00:00Z'),
    perSeries: 10,
    stepMs: 1080000,
    pollutants: p,
  });
  await insertSeries(c, {
    end: new Date('2025-01-15T12:00:00Z'),
    perSeries: 100,
    stepMs: 108000,
    pollutants: p,
  });
});
await c.end();
