import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { startChild } from './lib/child.js';
import { createBenchDatabase } from './lib/database.js';
import { BELGIAN_LAYOUT, createStations } from './lib/generate.js';
import { callRefresh, loadHistoryAndWindows } from './lib/refresh-timing.js';
import { runMain } from './lib/run-main.js';
import { serverEnv } from './lib/server-env.js';
import { SUBSCRIPTION } from './scenarios/fan-out.js';

/**
 * npx tsx bench/heap-per-subscriber.ts [--subscribers 2000] [--server api|raw]
 *
 * What one subscriber holds in a server's heap: the server (the API, or the raw broadcast of the
 * fan-out scenario) takes heap snapshots before and after that many fan-out subscribers open, and
 * the difference is printed per subscriber, by kind of object (V8's constructor names: `closure`,
 * `system / Context` for the variables closures keep, `(object properties)` for the property
 * stores of large objects).
 */

interface Kinds {
  readonly [kind: string]: { count: number; bytes: number };
}

/** Objects of a .heapsnapshot by type and constructor name: how many, and their own bytes. */
async function kindsOf(path: string): Promise<Kinds> {
  const snapshot = JSON.parse(await readFile(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const kinds: Record<string, { count: number; bytes: number }> = {};
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = types[snapshot.nodes[i + (type as number)] as number] as string;
    const named = ['object', 'closure', 'array', 'hidden', 'native', 'synthetic'].includes(kind);
    const key = named
      ? `${kind} ${(snapshot.strings[snapshot.nodes[i + (name as number)] as number] ?? '').slice(0, 60)}`
      : kind;
    const entry = kinds[key] ?? { count: 0, bytes: 0 };
    kinds[key] = entry;
    entry.count += 1;
    entry.bytes += snapshot.nodes[i + (size as number)] as number;
  }
  return kinds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '2000' },
      server: { type: 'string', default: 'api' },
    },
  });
  const count = Number(values.subscribers);
  const script = values.server === 'raw' ? 'servers/raw-broadcast.ts' : 'servers/api-server.ts';
  const bench = await createBenchDatabase(loadConfig().db, 'heap');
  const connection = await bench.connect();
  const paths = ['before', 'after'].map((when) =>
    join(tmpdir(), `belair-heap-${process.pid}-${when}.heapsnapshot`),
  );
  try {
    await createStations(connection, BELGIAN_LAYOUT);
    const end = new Date('2025-01-15T12:00:00.000Z');
    await loadHistoryAndWindows(connection, 0, end, [{ end, rows: 10_000 }]);
    await callRefresh(connection, end);
    const cities = Array.from({ length: 20 }, (_, i) => `City ${String(i + 1).padStart(2, '0')}`);
    const server = await startChild<{ port: number }>(script, {
      env: serverEnv(bench.db, { POLL_INTERVAL_MS: '100', MAX_CONNECTIONS: '50000' }),
    });
    const client = await startChild('clients/subscribers.ts');
    try {
      const open = (n: number, address: string) =>
        client.request(
          'open',
          {
            url: `ws://127.0.0.1:${server.ready.port}/graphql`,
            count: n,
            cities,
            query: SUBSCRIPTION,
            localAddresses: Array.from(
              { length: Math.ceil(n / 250) },
              (_, i) => `127.${address}.${i + 1}`,
            ),
            concurrency: 100,
          },
          300_000,
        );
      // A first round opened and closed, so that code and caches exist before the first snapshot.
      await open(200, '9.1');
      await client.request('close');
      const before = await server.request<{ heapUsed: number }>('memory');
      await server.request('heapSnapshot', { path: paths[0] });
      await open(count, '9.2');
      const after = await server.request<{ heapUsed: number }>('memory');
      await server.request('heapSnapshot', { path: paths[1] });
      await client.request('close');
      const [was, is] = await Promise.all(paths.map((path) => kindsOf(path as string)));
      const rows = Object.entries(is as Kinds)
        .map(([key, { count: n, bytes }]) => {
          const old = (was as Kinds)[key] ?? { count: 0, bytes: 0 };
          return { key, count: (n - old.count) / count, bytes: (bytes - old.bytes) / count };
        })
        .filter((row) => Math.abs(row.bytes) >= 8)
        .sort((a, b) => b.bytes - a.bytes);
      const perSubscriber = (bytes: number) => `${(bytes / count / 1024).toFixed(2)} KB`;
      console.log(
        `${values.server}, ${count} subscribers: heapUsed ${perSubscriber(after.heapUsed - before.heapUsed)} ` +
          'per subscriber (after full collections; the resident memory, which the fan-out ' +
          'scenario reports, moves too much over a few thousand sockets to read here); in the ' +
          `snapshots, ${rows.reduce((sum, row) => sum + row.bytes, 0).toFixed(0)} bytes each:`,
      );
      for (const row of rows.slice(0, 40)) {
        console.log(
          `${row.bytes.toFixed(0).padStart(7)} B ${row.count.toFixed(2).padStart(7)} × ${row.key}`,
        );
      }
    } finally {
      await client.stop();
      await server.stop();
    }
  } finally {
    await connection.end();
    await bench.drop();
    await Promise.all(paths.map((path) => rm(path, { force: true })));
  }
}

await runMain(main);
