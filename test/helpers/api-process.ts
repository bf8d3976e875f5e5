import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './database.js';

/** The real API (npm start, src/cli/serve.ts) in a process of its own, and what it printed. */
export interface ApiProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly port: number;
  /** Everything it wrote to stdout and stderr so far, without colours. */
  readonly output: { text: string };
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then resolves with how it exited. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

/**
 * Starts npm start with the environment given (over this process's, PORT=0) and resolves once it
 * says where it serves. Whatever a test leaves running is killed by killApiProcesses.
 */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/serve.ts'], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, PORT: '0', ...env },
  });
  started.push(child);
  const output = { text: '' };
  const keep = (chunk: Buffer) => {
    output.text += chunk
      .toString()
      .replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '');
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone: { code: number | null; signal: NodeJS.Signals | null } | null = null;
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
