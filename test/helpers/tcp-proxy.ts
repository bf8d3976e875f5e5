import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Pool } from 'mysql2/promise';
import type { PoolBounds } from '../../src/db/pool.js';
import { createPool, type TestDatabase } from './database.js';
import { useForAll } from './lifecycle.js';

/**
 * A TCP proxy in front of MariaDB that a test can cut (every connection through it dropped, new
 * ones refused) and restore: the database made unreachable without touching the server.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let open = true;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A pool that reaches the test database through a proxy the test can cut. */
export interface ProxiedPool {
  readonly proxy: TcpProxy;
  readonly pool: Pool;
}

/**
 * A proxy in front of the test server and a pool of `size` connections through it, made before
 * the tests, ended and closed after them. The test itself reaches MariaDB directly (t.pool); the
 * shared server is never stopped, other files use it meanwhile.
 */
export function useProxiedPool(t: TestDatabase, size: number, bounds?: PoolBounds): ProxiedPool {
  return useForAll(
    'the proxied pool',
    async () => {
      const proxy = await startTcpProxy({ host: t.db.host, port: t.db.port });
      const pool = createPool({ ...t.db, host: '127.0.0.1', port: proxy.port }, size, bounds);
      return { proxy, pool };
    },
    async ({ proxy, pool }) => {
      await pool.end();
      await proxy.close();
    },
  );
}
