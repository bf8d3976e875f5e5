import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './database.js';
import { type Exit, watchProcess } from './watched-process.js';

/** The real API (npm start, src/cli/serve.ts) in a process of its own, and what it printed. */
export interface ApiProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly port: number;
  /** Everything it wrote to stdout and stderr so far, without colours. */
  readonly output: { text: string };
  readonly exited: Promise<Exit>;
  /** SIGTERM, then resolves with how it exited. */
  stop(): Promise<Exit>;
}

const started: ChildProcess[] = [];

/** What node runs, and where: npm start's entry point unless a test names another (a build's). */
export interface ApiEntry {
  readonly args: readonly string[];
  readonly cwd: string | URL;
}

const NPM_START: ApiEntry = {
  args: ['--import', 'tsx', 'src/cli/serve.ts'],
  cwd: new URL('../..', import.meta.url),
};

/**
 * Starts npm start (or the entry given) with the environment given (over this process's, PORT=0)
 * and resolves once it says where it serves. Whatever a test leaves running is killed by
 * killApiProcesses.
 */
export async function startApiProcess(
  env: Record<string, string>,
  entry: ApiEntry = NPM_START,
): Promise<ApiProcess> {
  const child = spawn(process.execPath, [...entry.args], {
    cwd: entry.cwd,
    env: { ...process.env, PORT: '0', ...env },
  });
  started.push(child);
  const { output, exited } = watchProcess(child);
  let gone: Exit | null = null;
  void exited.then((how) => {
    gone = how;
  });
  const port = Number(
    await waitFor(
      async () => {
        if (gone) {
          const how = gone.signal ?? `code ${gone.code}`;
          throw new Error(`the API exited (${how}) before it listened:\n${output.text}`);
        }
        return /serves GraphQL(?: and GraphiQL)? at http:\/\/localhost:(\d+)\/graphql/.exec(
          output.text,
        )?.[1];
      },
      90_000,
      'the API to listen',
    ),
  );
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    port,
    output,
    exited,
    stop() {
      if (!gone) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Kills (SIGKILL) every API process started here that is still running. */
export function killApiProcesses(): void {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
