import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import type { RowDataPacket } from 'mysql2/promise';
import { type WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { createPool } from '../../src/db/pool.js';
import {
  memoryAfterGc,
  processRequests,
  profileRequests,
  sendReady,
  serveRequests,
} from '../lib/child-rpc.js';
import { countStatements } from '../lib/counting-pool.js';

/**
 * The fan-out baseline: a bare WebSocket server that does what the API's subscriptions do minus
 * GraphQL. It speaks just enough of the graphql-transport-ws protocol for the same client
 * (connection_init → connection_ack, subscribe with variables { cities: [name] }), polls
 * MariaDB for the current run every POLL_INTERVAL_MS, and when it changes loads the run's rows
 * once, makes each city's "next" message once (its UTF-8 bytes, so that nothing is encoded again
 * per socket), and writes those same bytes to every socket of the city with ws's send, which
 * frames them for each socket. Started by the fan-out scenario; configuration from the
 * environment (DB_*, POLL_INTERVAL_MS).
 */

const config = loadConfig();
const counted = countStatements(createPool(config.db, 2));
const pool = counted.pool;
const socketsOf = new Map<string, Set<WebSocket>>();
/** The current run's message per city, ready to send. */
let messages = new Map<string, Buffer>();
/** A text frame, as graphql-ws sends its messages (ws would send a Buffer as binary). */
const TEXT = { binary: false };
let currentRun: number | undefined;

function nextMessage(id: string, city: string, pollutants: unknown[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      id,
      type: 'next',
      payload: { data: { airQuality: { city: { name: city }, pollutants } } },
    }),
  );
}

async function loadRun(runId: number): Promise<Map<string, Buffer>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `/* loadRun */ SELECT c.name AS city, UPPER(q.pollutant) AS parameter, q.average
     FROM city_air_quality q JOIN city c ON c.id = q.city_id
     WHERE q.run_id = ? ORDER BY c.name, q.pollutant`,
    [runId],
  );
  const byCity = new Map<string, unknown[]>();
  for (const row of rows) {
    const list = byCity.get(row.city) ?? [];
    list.push({ parameter: row.parameter, average: row.average });
    byCity.set(row.city, list);
  }
  return new Map(
    [...byCity].map(([city, pollutants]) => [city, nextMessage('1', city, pollutants)]),
  );
}

async function poll(): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>(
    '/* currentRun */ SELECT id FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1',
  );
  const runId = rows[0]?.id as number | undefined;
  if (runId === undefined || runId === currentRun) return;
  currentRun = runId;
  messages = await loadRun(runId);
  for (const [city, sockets] of socketsOf) {
    const message = messages.get(city);
    if (message === undefined) continue;
    for (const socket of sockets) socket.send(message, TEXT);
  }
}

const timer = setInterval(() => {
  poll().catch((error: unknown) => console.error('raw-broadcast: poll failed', error));
}, config.pollIntervalMs);

const server = createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/graphql' });
wss.on('connection', (socket) => {
  let city: string | undefined;
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      type: string;
      id?: string;
      payload?: { variables?: { cities?: string[] } };
    };
    if (message.type === 'connection_init') {
      socket.send('{"type":"connection_ack"}');
    } else if (message.type === 'subscribe') {
      city = message.payload?.variables?.cities?.[0] ?? '';
      const sockets = socketsOf.get(city) ?? new Set();
      sockets.add(socket);
      socketsOf.set(city, sockets);
      const current = messages.get(city);
      if (current !== undefined) socket.send(current, TEXT);
    }
  });
  socket.on('close', () => {
    if (city !== undefined) socketsOf.get(city)?.delete(socket);
  });
});

await poll();
server.listen(0, '127.0.0.1', () => {
  sendReady({ port: (server.address() as AddressInfo).port });
});

serveRequests({
  ...profileRequests,
  ...processRequests,
  memory: () => memoryAfterGc(),
  heapSnapshot: (args) => writeHeapSnapshot(args.path as string),
  statements: () => counted.statements(),
  subscribers: () => [...socketsOf.values()].reduce((sum, set) => sum + set.size, 0),
});

process.on('SIGTERM', () => {
  clearInterval(timer);
  for (const socket of wss.clients) socket.terminate();
  server.close();
  void pool.end().finally(() => process.exit(0));
});
