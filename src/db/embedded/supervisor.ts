import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

/**
 * The supervisor of a checkout's embedded MariaDB: a small detached process that starts mariadbd,
 * counts the belair processes that use it, and stops it when the last one leaves. Each of those
 * processes holds a connection to the supervisor's unix socket, and the kernel closes it when the
 * process ends however it ends, SIGKILL included: so a crashed process is counted out at once and
 * leaves nothing behind. Detached, it is out of reach of the terminal's Ctrl-C, which would
 * otherwise stop the server under processes still finishing their work.
 *
 * It is the process half of embedded-server.ts, which spawns it (node supervisor.js SPEC), and
 * nothing else runs it. Its output goes to .data/mariadb.log.
 */
export interface SupervisorSpec {
  readonly mariadbd: string;
  readonly dataDir: string;
  /** The server's own temporary folder (see EmbeddedPaths.tmpDir). */
  readonly tmpDir: string;
  readonly serverSocket: string;
  readonly supervisorSocket: string;
  readonly state: string;
  /** The user mariadbd runs as when the supervisor runs as root. */
  readonly user?: string;
}

/** .data/mariadb.json: the running instance. */
export interface EmbeddedState {
  readonly supervisorPid: number;
  readonly mariadbdPid: number;
  readonly port: number;
  readonly version: string;
  readonly startedAt: string;
}

/** The first line the supervisor sends each process. */
export interface Welcome {
  readonly port: number;
  readonly version: string;
  /** Processes using the server, this one included. */
  readonly clients: number;
}

/** How long a started server waits for its first process before it stops again. */
const FIRST_CLIENT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

const say = (text: string) =>
  process.stderr.write(`${new Date().toISOString()} supervisor ${process.pid}: ${text}\n`);

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createNetServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.once('exit', (code) => done(code));
  });
}

/** Waits until root can log in and returns the version, or undefined when mariadbd exits first. */
async function ready(child: ChildProcess, port: number): Promise<string | undefined> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void exited(child).then(() => {
    gone = true;
  });
  while (!gone) {
    try {
      const connection = await mysql.createConnection({
        host: '127.0.0.1',
        port,
        user: 'root',
        connectTimeout: 1000,
      });
      const [[row]] = (await connection.query('SELECT VERSION() AS version')) as unknown as [
        [{ version: string }],
      ];
      await connection.end();
      return row?.version;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(
          `mariadbd did not answer within ${START_TIMEOUT_MS / 1000} s: ${(error as Error).message}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return undefined;
}

async function startServer(
  spec: SupervisorSpec,
): Promise<{ child: ChildProcess; port: number; version: string }> {
  // Another program may take the free port before mariadbd binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      spec.mariadbd,
      [
        '--no-defaults',
        `--datadir=${spec.dataDir}`,
        `--tmpdir=${spec.tmpDir}`,
        `--socket=${spec.serverSocket}`,
        `--pid-file=${spec.dataDir}/mariadbd.pid`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--event-scheduler=ON',
        ...(spec.user ? [`--user=${spec.user}`] : []),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.on('error', (error) => say(`cannot run ${spec.mariadbd}: ${error.message}`));
    const version = await ready(child, port);
    if (version !== undefined) return { child, port, version };
    if (attempt >= 3)
      throw new Error(`mariadbd exited with code ${child.exitCode} (its messages are above)`);
    say(`mariadbd exited with code ${child.exitCode}; trying again on another port`);
  }
}

async function writeState(path: string, state: EmbeddedState): Promise<void> {
  await writeFile(`${path}.new`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${path}.new`, path);
}

export async function supervise(spec: SupervisorSpec): Promise<void> {
  const { child, port, version } = await startServer(spec);
  say(`mariadbd ${version} (pid ${child.pid}) ready on 127.0.0.1:${port}`);
  await writeState(spec.state, {
    supervisorPid: process.pid,
    mariadbdPid: child.pid ?? 0,
    port,
    version,
    startedAt: new Date().toISOString(),
  });

  /** Every open connection, and those of them that count: a process that said leave does not. */
  const connections = new Set<Socket>();
  const clients = new Set<Socket>();
  let stopping: Promise<void> | undefined;
  let server: Server | undefined;

  const stop = (why: string) => {
    stopping ??= (async () => {
      say(`stopping mariadbd: ${why}`);
      clearTimeout(firstClient);
      // No process may start using the server from here on: it finds the socket gone and waits
      // for this process to end before it starts a new server.
      server?.close();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited(child);
      clearTimeout(timer);
      say(`mariadbd stopped (exit code ${code})`);
      await rm(spec.state, { force: true });
      // A process that left last waits for its connection to close: then the server is down.
      for (const socket of connections) socket.end();
    })();
    return stopping;
  };
  const countOut = (socket: Socket) => {
    if (clients.delete(socket) && clients.size === 0) void stop('the last process using it left');
  };

  void exited(child).then((code) => {
    if (stopping) return;
    say(`mariadbd exited by itself (exit code ${code})`);
    const lost = `${JSON.stringify({ lost: `mariadbd exited with code ${code}` })}\n`;
    for (const socket of connections) socket.write(lost);
    void stop('it exited').then(() => process.exit(1));
  });

  const firstClient = setTimeout(() => void stop('no process came to use it'), FIRST_CLIENT_MS);

  await rm(spec.supervisorSocket, { force: true });
  server = createNetServer((socket) => {
    if (stopping) {
      socket.destroy();
      return;
    }
    clearTimeout(firstClient);
    connections.add(socket);
    clients.add(socket);
    const welcome: Welcome = { port, version, clients: clients.size };
    socket.write(`${JSON.stringify(welcome)}\n`);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (!clients.has(socket) || !received.includes('leave\n')) return;
      const remaining = clients.size - 1;
      socket.write(`${JSON.stringify({ remaining })}\n`);
      // The last one stays connected until the server is down, so that it can say so.
      if (remaining > 0) socket.end();
      countOut(socket);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      connections.delete(socket);
      countOut(socket);
    });
  });
  await new Promise<void>((done, reject) => {
    server?.once('error', reject);
    server?.listen(spec.supervisorSocket, () => done());
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(signal).then(() => process.exit(0)));
  }
  await exited(child);
  await stopping;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as SupervisorSpec;
  supervise(spec).then(
    () => process.exit(0),
    async (error: Error) => {
      say(`failed: ${error.message}`);
      await readFile(spec.state).then(
        () => rm(spec.state, { force: true }),
        () => {},
      );
      process.exit(1);
    },
  );
}
