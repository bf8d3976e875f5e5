import cluster, { type Worker } from 'node:cluster';
import type { YogaLogger } from 'graphql-yoga';

/**
 * npm start's workers (WORKERS > 1): N API processes on one machine sharing the port through
 * node:cluster (the primary accepts connections and hands them round-robin to the workers), each
 * with its own pool and poller. The primary only supervises: a worker that dies after it listened
 * is replaced; one that dies before (a port taken, a bad configuration) stops them all.
 */
export interface Workers {
  /** Resolves with the port once every worker listens; rejects when one could not start. */
  readonly listening: Promise<number>;
  /**
   * Resolves once no worker is left, with the exit code to use: 0 when every worker stopped
   * cleanly after stop(), 1 otherwise (one failed, or the last replacement could not start).
   */
  readonly ended: Promise<number>;
  /** Sends SIGTERM to every worker; see ended. */
  stop(): Promise<number>;
}

export function startWorkers(count: number, logger: YogaLogger): Workers {
  const listeningWorkers = new Set<number>();
  const live = new Set<Worker>();
  let stopping = false;
  let started = false;
  let code = 0;
  let resolveListening!: (port: number) => void;
  let rejectListening!: (error: Error) => void;
  const listening = new Promise<number>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  // Awaited by the caller; a rejection before it awaits must not go unhandled.
  listening.catch(() => {});
  let resolveEnded!: (code: number) => void;
  const ended = new Promise<number>((resolve) => {
    resolveEnded = resolve;
  });

  const stopAll = () => {
    stopping = true;
    for (const worker of live) worker.process.kill('SIGTERM');
  };

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on('listening', (address) => {
      listeningWorkers.add(worker.id);
      if (started) logger.info(`worker ${worker.id} (pid ${worker.process.pid}) listens`);
      if (!started && listeningWorkers.size === count) {
        started = true;
        resolveListening(address.port);
      }
    });
    worker.on('exit', (exitCode, signal) => {
      live.delete(worker);
      const listened = listeningWorkers.delete(worker.id);
      const how = signal ?? `exit code ${exitCode}`;
      // A worker that stopped uncleanly when told to makes the exit unclean; one that died and was
      // replaced does not, nor one told to stop before it listened (it had nothing in flight).
      if (stopping && listened && exitCode !== 0) code = 1;
      if (!stopping) {
        if (!listened) {
          code = 1;
          // It never served: starting it again would fail the same way.
          logger.error(
            `worker ${worker.id} (pid ${worker.process.pid}) exited before it listened (${how})`,
          );
          if (!started) {
            rejectListening(new Error(`worker ${worker.id} could not start (${how})`));
            stopAll();
          }
        } else {
          logger.error(
            `worker ${worker.id} (pid ${worker.process.pid}) died (${how}): starting another`,
          );
          fork();
        }
      }
      if (live.size === 0) resolveEnded(code);
    });
  };
  for (let i = 0; i < count; i += 1) fork();

  return {
    listening,
    ended,
    stop() {
      stopAll();
      return ended;
    },
  };
}

/** A logger whose every line starts with `worker N: `, so that N workers' lines can be told apart. */
export function workerLogger(logger: YogaLogger, id: number): YogaLogger {
  const prefix =
    (write: (...args: unknown[]) => void) =>
    (first: unknown, ...rest: unknown[]) =>
      write(typeof first === 'string' ? `worker ${id}: ${first}` : first, ...rest);
  return {
    debug: prefix(logger.debug.bind(logger)),
    info: prefix(logger.info.bind(logger)),
    warn: prefix(logger.warn.bind(logger)),
    error: prefix(logger.error.bind(logger)),
  };
}
