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

/** Resident and heap memory after two full collections (node --expose-gc). */
export function memoryAfterGc(): { rss: number; heapUsed: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed };
}
