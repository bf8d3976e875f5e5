import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Servers and load clients run in processes of their own, so that what they cost is not mixed
 * with what the bench process itself does. They talk to the bench process over Node's IPC
 * channel with a tiny request/reply protocol: { id, type, ...args } → { id, ok, value | error }.
 */

export interface Child {
  readonly pid: number;
  request<T>(type: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  stop(): Promise<void>;
}

const running = new Set<Child>();

export interface StartOptions {
  readonly env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  /** How long to wait for the child's "ready" message. */
  readonly readyTimeoutMs?: number;
}

/** Starts bench/<script> under tsx and resolves once it has sent { type: 'ready', ...value }. */
export async function startChild<T extends object>(
  script: string,
  options: StartOptions = {},
): Promise<Child & { readonly ready: T }> {
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const child: ChildProcess = fork(path, [], {
    execArgv: ['--import', 'tsx', '--expose-gc', ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`${script} exited (${code ?? signal}) with a request pending`));
    }
    pending.clear();
  });

  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${script} was not ready within ${options.readyTimeoutMs ?? 30_000} ms`)),
      options.readyTimeoutMs ?? 30_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready`));
    });
    child.on(
      'message',
      (message: { id?: number; type?: string; ok?: boolean; value?: unknown; error?: string }) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.value as T);
          return;
        }
        const waiter = message.id === undefined ? undefined : pending.get(message.id);
        if (!waiter || message.id === undefined) return;
        pending.delete(message.id);
        if (message.ok) waiter.resolve(message.value);
        else waiter.reject(new Error(`${script}: ${message.error}`));
      },
    );
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw error;
  });

  const handle: Child & { ready: T } = {
    pid: child.pid as number,
    ready,
    request<R>(type: string, args: Record<string, unknown> = {}, timeoutMs = 120_000) {
      const id = nextId++;
      return new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script}: no answer to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as R);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, type, ...args });
      });
    },
    async stop() {
      running.delete(handle);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every child still running: after a failure, or on Ctrl-C. */
export async function stopChildren(): Promise<void> {
  await Promise.allSettled([...running].map((child) => child.stop()));
}
