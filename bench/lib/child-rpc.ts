import { readFileSync } from 'node:fs';
import { getHeapCodeStatistics } from 'node:v8';

/**
 * The child side of bench/lib/child.ts: answers the bench process's requests. Only for processes
 * started by startChild (they have an IPC channel).
 */

type Handler = (args: Record<string, unknown>) => unknown;

export function serveRequests(handlers: Record<string, Handler>): void {
  process.on('message', (message: { id: number; type: string } & Record<string, unknown>) => {
    const handler = handlers[message.type];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown request ${message.type}`);
        return handler(message);
      })
      .then(
        (value) => process.send?.({ id: message.id, ok: true, value }),
        (error: unknown) =>
          process.send?.({
            id: message.id,
            ok: false,
            error: (error as Error).message ?? String(error),
          }),
      );
  });
  // The bench process going away (or its IPC channel closing) ends this one too.
  process.on('disconnect', () => process.exit(0));
}

export function sendReady(value: Record<string, unknown>): void {
  process.send?.({ type: 'ready', value });
}

/**
 * Resident and heap memory after two full collections (node --expose-gc); external is the memory
 * of C++ objects bound to JavaScript ones (Buffers among them, counted in arrayBuffers too), which
 * heapUsed does not include. code is the part of heapUsed that V8's compiled code and bytecode
 * take with their metadata: it grows for minutes under a steady load as V8 optimises functions
 * that run rarely, up to what the program's code needs.
 */
export function memoryAfterGc(): {
  rss: number;
  heapUsed: number;
  code: number;
  external: number;
  arrayBuffers: number;
} {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memoryAfterGc needs node --expose-gc');
  gc();
  gc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  const stats = getHeapCodeStatistics();
  const code = stats.code_and_metadata_size + stats.bytecode_and_metadata_size;
  return { rss, heapUsed, code, external, arrayBuffers };
}

let profiler: import('node:inspector/promises').Session | undefined;

/**
 * CPU profiling of this process on request, so that a profile covers the load and not the
 * start-up: profileStart, then profileStop answers with the V8 profile.
 */
export const profileRequests = {
  async profileStart() {
    const { Session } = await import('node:inspector/promises');
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    return true;
  },
  async profileStop() {
    if (!profiler) throw new Error('profileStop without profileStart');
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    return profile;
  },
};

/**
 * What a process may hold and what it used: its limit of open files (ulimit -n, from
 * /proc/self/limits on Linux; null where it cannot be read), each socket taking one, and its CPU
 * time so far in ms (user and system), for the share of a measurement it was busy.
 */
export const processRequests = {
  openFilesLimit(): number | null {
    try {
      const line = readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Max open files'));
      const soft = line?.split(/\s{2,}/)[1];
      return soft === undefined
        ? null
        : soft === 'unlimited'
          ? Number.MAX_SAFE_INTEGER
          : Number(soft);
    } catch {
      return null;
    }
  },
  cpuMs(): number {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
};
