import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMariadb } from './binaries.js';
import { EmbeddedServerError, tail } from './errors.js';
import { withFileLock } from './file-lock.js';
import { initialiseDataDir, serverUser } from './initialise.js';
import { type EmbeddedPaths, embeddedPaths } from './paths.js';
import { isRunning } from './processes.js';
import type { EmbeddedState, SupervisorSpec, Welcome } from './supervisor.js';

/** This process's use of the checkout's embedded MariaDB. */
export interface EmbeddedServer {
  readonly port: number;
  readonly version: string;
  readonly paths: EmbeddedPaths;
  /** This process started it (else it found it running). */
  readonly started: boolean;
  /** This process created its data directory. */
  readonly initialised: boolean;
  /** Other processes that were using it when this one came. */
  readonly others: number;
  /**
   * Stops using it: 'stopped' when this was the last process and the server is down, 'left'
   * when others still use it (`remaining` of them), 'lost' when it was gone already.
   */
  release(): Promise<{ outcome: 'stopped' | 'left' | 'lost'; remaining: number }>;
}

export interface UseEmbeddedOptions {
  readonly paths?: EmbeddedPaths;
  /** The start of the message when mariadbd is missing: why belair wanted one. */
  readonly why?: string;
  readonly env?: Record<string, string | undefined>;
  /** Told when another process is starting the server and this one waits for it. */
  readonly log?: (line: string) => void;
  /** Told when the server goes away while this process uses it. */
  readonly onLost?: (reason: string) => void;
}

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 90_000;

/** A connection to the supervisor and its welcome, or undefined when nobody answers there. */
async function joinRunning(
  paths: EmbeddedPaths,
): Promise<{ socket: Socket; welcome: Welcome } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(paths.supervisorSocket);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new EmbeddedServerError(
          `the embedded MariaDB's supervisor at ${paths.supervisorSocket} accepts but does not answer`,
        ),
      );
    }, 10_000);
    const fail = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    };
    socket.setEncoding('utf8');
    socket.on('error', fail);
    socket.on('close', fail);
    socket.on('data', function first(chunk: string) {
      received += chunk;
      const end = received.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', first);
      socket.off('error', fail);
      socket.off('close', fail);
      resolve({ socket, welcome: JSON.parse(received.slice(0, end)) as Welcome });
    });
  });
}

async function readState(paths: EmbeddedPaths): Promise<EmbeddedState | undefined> {
  try {
    return JSON.parse(await readFile(paths.state, 'utf8')) as EmbeddedState;
  } catch {
    return undefined;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/**
 * What an earlier instance left: a supervisor that is stopping (it closed its socket first) is
 * waited for; a mariadbd whose supervisor was killed is stopped, since nobody counts its users.
 */
async function clearLeftovers(paths: EmbeddedPaths): Promise<void> {
  const state = await readState(paths);
  if (state) {
    // Known by what their command lines hold: after a reboot the pids may be anybody's.
    const supervisor = () => isRunning(state.supervisorPid, paths.state);
    const server = () => isRunning(state.mariadbdPid, paths.dataDir);
    if (!(await until(() => !supervisor(), STOP_TIMEOUT_MS))) {
      throw new EmbeddedServerError(
        `the embedded MariaDB's supervisor (pid ${state.supervisorPid}) neither answers nor stops: end it (kill ${state.supervisorPid}) and run the command again`,
      );
    }
    if (server()) {
      process.kill(state.mariadbdPid, 'SIGTERM');
      if (!(await until(() => !server(), STOP_TIMEOUT_MS))) {
        throw new EmbeddedServerError(
          `an embedded mariadbd left by a killed supervisor (pid ${state.mariadbdPid}) does not stop: end it (kill -9 ${state.mariadbdPid}) and run the command again`,
        );
      }
    }
  }
  await rm(paths.state, { force: true });
  await rm(paths.supervisorSocket, { force: true });
}

/** node supervisor.js, or through tsx where this code runs as TypeScript. */
function supervisorCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const file = join(dirname(here), `supervisor${extname(here)}`);
  return extname(here) === '.ts' ? ['--import', 'tsx', file] : [file];
}

async function startSupervisor(
  paths: EmbeddedPaths,
  options: UseEmbeddedOptions,
): Promise<{ socket: Socket; welcome: Welcome; initialised: boolean }> {
  await clearLeftovers(paths);
  const binaries = findMariadb(options.why ?? 'belair wants a MariaDB of its own', options.env);
  const user = serverUser();
  const initialised = await initialiseDataDir(paths, binaries, user);
  const spec: SupervisorSpec = {
    mariadbd: binaries.mariadbd,
    dataDir: paths.dataDir,
    tmpDir: paths.tmpDir,
    serverSocket: paths.serverSocket,
    supervisorSocket: paths.supervisorSocket,
    state: paths.state,
    ...(user ? { user: user.name } : {}),
  };
  // What earlier runs printed is kept for a look after a crash, up to 1 MiB.
  const logSize = await stat(paths.log).then(
    (info) => info.size,
    () => 0,
  );
  const logStart = logSize > 1024 * 1024 ? 0 : logSize;
  const logFd = openSync(paths.log, logStart === 0 ? 'w' : 'a');
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(process.execPath, [...supervisorCommand(), JSON.stringify(spec)], {
      cwd: paths.root,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const joined = await joinRunning(paths);
    if (joined) return { ...joined, initialised };
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill('SIGTERM');
      const log = await readFile(paths.log).then(
        (bytes) => bytes.subarray(logStart).toString(),
        () => '',
      );
      throw new EmbeddedServerError(
        `the embedded MariaDB did not start (${paths.log}):\n${tail(log)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function handle(
  paths: EmbeddedPaths,
  joined: { socket: Socket; welcome: Welcome },
  started: boolean,
  initialised: boolean,
  onLost: ((reason: string) => void) | undefined,
): EmbeddedServer {
  const { socket, welcome } = joined;
  let leaving = false;
  let closed = false;
  let received = '';
  const replies: ((line: string) => void)[] = [];
  const closedPromise = new Promise<void>((resolve) => {
    socket.on('close', () => {
      closed = true;
      if (!leaving) onLost?.('the embedded MariaDB stopped: see .data/mariadb.log');
      resolve();
    });
  });
  socket.on('error', () => {});
  socket.on('data', (chunk: string) => {
    received += chunk;
    for (let end = received.indexOf('\n'); end >= 0; end = received.indexOf('\n')) {
      const line = received.slice(0, end);
      received = received.slice(end + 1);
      const message = JSON.parse(line) as { lost?: string; remaining?: number };
      if (message.lost !== undefined) onLost?.(`the embedded MariaDB stopped: ${message.lost}`);
      else replies.shift()?.(line);
    }
  });
  // The connection alone must not keep a process alive that has nothing else left to do.
  socket.unref();
  return {
    port: welcome.port,
    version: welcome.version,
    paths,
    started,
    initialised,
    others: welcome.clients - 1,
    async release() {
      if (closed) return { outcome: 'lost', remaining: 0 };
      leaving = true;
      socket.ref();
      const reply = new Promise<string>((resolve) => replies.push(resolve));
      socket.write('leave\n');
      const answer = await Promise.race([reply, closedPromise.then(() => undefined)]);
      if (answer === undefined) return { outcome: 'lost', remaining: 0 };
      const { remaining = 0 } = JSON.parse(answer) as { remaining?: number };
      // The supervisor closes the last one's connection once mariadbd has exited.
      const timer = setTimeout(() => socket.destroy(), STOP_TIMEOUT_MS);
      await closedPromise;
      clearTimeout(timer);
      return { outcome: remaining === 0 ? 'stopped' : 'left', remaining };
    },
  };
}

/**
 * Uses the checkout's embedded MariaDB: joins the one running, or initialises (on first use) and
 * starts one, while holding .data/mariadb.lock so that processes starting together start one
 * server between them. Throws MariadbNotInstalledError or EmbeddedServerError.
 */
export async function useEmbeddedServer(options: UseEmbeddedOptions = {}): Promise<EmbeddedServer> {
  const paths = options.paths ?? embeddedPaths();
  const running = await joinRunning(paths);
  if (running) return handle(paths, running, false, false, options.onLost);
  await mkdir(paths.dataRoot, { recursive: true });
  const joined = await withFileLock(
    paths.lock,
    async () => {
      // Another process may have started it while this one waited for the lock.
      const again = await joinRunning(paths);
      if (again) return { ...again, started: false, initialised: false };
      return { ...(await startSupervisor(paths, options)), started: true };
    },
    {
      timeoutMs: START_TIMEOUT_MS,
      onWait: (pid) =>
        options.log?.(`waiting for process ${pid}, which is starting the embedded MariaDB`),
    },
  );
  return handle(paths, joined, joined.started, joined.initialised, options.onLost);
}
