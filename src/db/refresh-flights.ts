import type { Pool, PoolConnection } from 'mysql2/promise';
import {
  type AirQualityRun,
  RefreshBusyError,
  releaseRefreshLock,
  runRefresh,
  takeRefreshLock,
} from './runs.js';

/**
 * refreshAirQuality, single flight per process. Each call used to take a pooled connection and
 * wait on it for the aggregation lock, so ten calls made at once while the EVENT ran held ten
 * connections: the whole pool of a default API, and every other request timed out behind them.
 *
 * Here the process makes one run at a time, on one connection. A call joins a run for the same
 * instant ("now", or the same `at`) that has not taken the lock yet, since such a run reads the
 * window after every one of its callers arrived and so sees whatever each wrote before calling;
 * a run that holds the lock (and may be reading the window already) is never joined: a call made
 * then gets the next run. Calls for different instants never share a run: each instant gets its
 * own, one after the other. A run "for now" is evaluated at the moment it takes the lock.
 *
 * Each call keeps its own wait: when the lock stays taken (a run of the EVENT, of another process)
 * for waitSeconds after the call was made, that call answers RefreshBusyError, while the run goes
 * on waiting for callers who came later. Waiting for a pooled connection is the pool's own bound
 * (DB_ACQUIRE_TIMEOUT_MS, DATABASE_UNAVAILABLE), not a busy run.
 */
export interface RefreshFlights {
  refresh(args: { readonly at: Date | null; readonly waitSeconds: number }): Promise<AirQualityRun>;
}

interface Waiter {
  readonly deadline: number;
  readonly waitSeconds: number;
  readonly resolve: (run: AirQualityRun) => void;
  readonly reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
}

interface Flight {
  /** "now", or the ISO instant asked for. */
  readonly key: string;
  readonly at: Date | null;
  readonly waiters: Set<Waiter>;
  state: 'queued' | 'connecting' | 'waiting' | 'locked';
}

export function createRefreshFlights(pool: Pick<Pool, 'getConnection'>): RefreshFlights {
  /** Runs not holding the lock yet, in the order they were asked for; the first may be waiting. */
  const queue: Flight[] = [];
  let flying = false;

  const settle = (flight: Flight, waiter: Waiter) => {
    clearTimeout(waiter.timer);
    return flight.waiters.delete(waiter);
  };
  const busy = (flight: Flight, waiter: Waiter) => {
    if (settle(flight, waiter)) waiter.reject(new RefreshBusyError(waiter.waitSeconds));
  };
  const failAll = (flight: Flight, error: unknown) => {
    for (const waiter of [...flight.waiters]) if (settle(flight, waiter)) waiter.reject(error);
  };
  const leaveQueue = (flight: Flight) => {
    const index = queue.indexOf(flight);
    if (index !== -1) queue.splice(index, 1);
  };

  /** Waits for the lock as long as any caller still wants the run; false when none is left. */
  async function lock(flight: Flight, connection: PoolConnection): Promise<boolean> {
    flight.state = 'waiting';
    while (flight.waiters.size > 0) {
      const latest = Math.max(...[...flight.waiters].map((w) => w.deadline));
      // At least one try, even for callers whose wait ran out while the pool found a connection.
      if (await takeRefreshLock(connection, Math.max(0, (latest - Date.now()) / 1000))) {
        return true;
      }
      // The waits that are over (their timers may come a moment after the lock's timeout).
      const now = Date.now();
      for (const waiter of [...flight.waiters]) if (waiter.deadline <= now) busy(flight, waiter);
    }
    return false;
  }

  async function fly(flight: Flight): Promise<void> {
    flight.state = 'connecting';
    let connection: PoolConnection;
    try {
      connection = await pool.getConnection();
    } catch (error) {
      leaveQueue(flight);
      failAll(flight, error);
      return;
    }
    try {
      const locked = await lock(flight, connection);
      leaveQueue(flight);
      if (!locked) return;
      flight.state = 'locked';
      const waiters = [...flight.waiters];
      for (const waiter of waiters) settle(flight, waiter);
      try {
        const run = await runRefresh(connection, flight.at ?? new Date());
        for (const waiter of waiters) waiter.resolve(run);
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      } finally {
        await releaseRefreshLock(connection);
      }
    } catch (error) {
      leaveQueue(flight);
      failAll(flight, error);
    } finally {
      connection.release();
    }
  }

  async function drain(): Promise<void> {
    if (flying) return;
    flying = true;
    try {
      for (let flight = queue[0]; flight; flight = queue[0]) {
        if (flight.waiters.size === 0) leaveQueue(flight);
        else await fly(flight);
      }
    } finally {
      flying = false;
    }
  }

  return {
    refresh({ at, waitSeconds }) {
      const key = at ? at.toISOString() : 'now';
      let flight = queue.find((f) => f.key === key);
      if (!flight) {
        flight = { key, at, waiters: new Set(), state: 'queued' };
        queue.push(flight);
      }
      const joined = flight;
      const promise = new Promise<AirQualityRun>((resolve, reject) => {
        const waiter: Waiter = {
          deadline: Date.now() + waitSeconds * 1000,
          waitSeconds,
          resolve,
          reject,
        };
        // Busy once the wait is over, unless the run is taking its pooled connection: then the
        // pool's acquire timeout answers, and the lock is tried once the connection is there.
        waiter.timer = setTimeout(() => {
          if (joined.state !== 'connecting' && joined.state !== 'locked') busy(joined, waiter);
        }, waitSeconds * 1000);
        joined.waiters.add(waiter);
      });
      void drain();
      return promise;
    },
  };
}
