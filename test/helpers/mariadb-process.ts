import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';

/**
 * Throwaway MariaDB servers: install a data directory, start mariadbd on it, wait until it takes
 * connections, stop it by its pid. Only Node's own modules and mysql2: nothing here knows about
 * tests, so that anything that needs a private mariadbd can use it.
 *
 * mariadbd refuses to run as root: as root it runs as the `mysql` user, which must be able to
 * traverse every folder above its data directory (a `mktemp -d` folder is mode 700 and makes the
 * install fail with a terse message), so the base folder is made traversable and its parents are
 * checked. Every server started here is killed by pid when this process exits, and
 * sweepOrphans() removes what a process that died without exiting (SIGKILL) left behind.
 */

/** Runs as root: mariadbd and mariadb-install-db then need --user=mysql. */
const AS_ROOT = userInfo().uid === 0;
const MYSQL_USER = 'mysql';

/** Servers started by this process and not yet stopped, by pid. */
const running = new Map<number, ChildProcess>();
let exitHook = false;

function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const pid of running.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A TCP port of 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Every folder above path, nearest first, must let `mysql` through (search permission). */
async function checkTraversable(path: string): Promise<void> {
  if (!AS_ROOT) return;
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const { mode } = await stat(folder);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `mariadbd runs as the ${MYSQL_USER} user, which cannot traverse ${folder} (mode ${(mode & 0o777).toString(8)}): ` +
          'use a temporary folder every user may traverse (TMPDIR=/tmp), or chmod o+x it',
      );
    }
    if (folder === dirname(folder)) return;
  }
}

/**
 * A new base folder under the system's temporary folder (e.g. /tmp/belair-mariadb-Ab12Cd), mode
 * 755, with the pid of its owner (this process) for sweepOrphans.
 */
export async function createBaseDir(prefix = 'belair-mariadb-'): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), prefix));
  await chmod(base, 0o755);
  await checkTraversable(join(base, 'x'));
  await writeFile(join(base, 'owner.pid'), String(process.pid));
  return base;
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${output.trim().slice(-2000)}`));
    });
  });
}

/**
 * Options both mariadb-install-db and mariadbd get: small memory and a small redo log (a
 * throwaway server holds little, and the machine is shared), no options files.
 */
const SMALL = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M'];

/**
 * The server's own temporary folder, next to its data directory: servers sharing the system's
 * temporary folder have been seen to lose each other's temporary tables during the install.
 */
const tmpDirOf = (dataDir: string) => `${dataDir}.tmp`;

/** A data directory with the system tables, root@localhost without a password over TCP. */
export async function installDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await mkdir(tmpDirOf(dataDir), { recursive: true });
  if (AS_ROOT) {
    const { uid, gid } = await mysqlIds();
    await chown(dataDir, uid, gid);
    await chown(tmpDirOf(dataDir), uid, gid);
  }
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--tmpdir=${tmpDirOf(dataDir)}`,
    ...(AS_ROOT ? [`--user=${MYSQL_USER}`] : []),
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...SMALL,
  ]);
}

async function mysqlIds(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith(`${MYSQL_USER}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `there is no ${MYSQL_USER} user to run mariadbd as (apt-get install mariadb-server)`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export interface MariadbdOptions {
  readonly dataDir: string;
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** More mariadbd options, e.g. --log-bin, --server-id=1. */
  readonly args?: readonly string[];
  /** How long to wait for it to take connections. Default 60 s. */
  readonly timeoutMs?: number;
}

export interface RunningMariadbd {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Its error log, where it says why it would not start. */
  readonly errorLog: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/** The last lines of a file, for an error message; '' when it cannot be read. */
async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Connects as root until the server answers, or fails when it exits or the time is up. */
async function waitUntilAccepting(server: RunningMariadbd, timeoutMs: number): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user: 'root',
        connectTimeout: 2000,
      });
      await connection.end();
      return;
    } catch (error) {
      if (exited || Date.now() > deadline) {
        throw new Error(
          `mariadbd on port ${server.port} ${exited ? 'exited' : `did not answer within ${timeoutMs} ms`} ` +
            `(${(error as Error).message}); its error log ends with:\n${await tail(server.errorLog)}`,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts mariadbd on an installed data directory, on 127.0.0.1 only, and resolves once it takes
 * connections. A port taken between the choice and the start is retried on another one.
 */
export async function startMariadbd(options: MariadbdOptions): Promise<RunningMariadbd> {
  killAllOnExit();
  for (let attempt = 1; ; attempt += 1) {
    const port = options.port || (await freePort());
    const errorLog = join(options.dataDir, 'error.log');
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${options.dataDir}`,
        `--tmpdir=${tmpDirOf(options.dataDir)}`,
        `--socket=${join(options.dataDir, 'sock')}`,
        `--pid-file=${join(options.dataDir, 'mariadbd.pid')}`,
        `--log-error=${errorLog}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        ...(AS_ROOT ? [`--user=${MYSQL_USER}`] : []),
        ...SMALL,
        ...(options.args ?? []),
      ],
      { stdio: 'ignore' },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error('mariadbd could not be started (is it installed?)');
    running.set(pid, child);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    }).then(() => {
      running.delete(pid);
    });
    // The pid goes next to the owner's, for sweepOrphans.
    await writeFile(join(dirname(options.dataDir), `${pid}.mariadbd`), options.dataDir);
    const server: RunningMariadbd = {
      pid,
      host: '127.0.0.1',
      port,
      dataDir: options.dataDir,
      errorLog,
      exited,
    };
    try {
      await waitUntilAccepting(server, options.timeoutMs ?? 60_000);
      return server;
    } catch (error) {
      await stopByPid(pid);
      const log = await tail(errorLog, 40);
      if (!options.port && attempt < 3 && /Address already in use|Bind on TCP\/IP port/.test(log))
        continue;
      throw error;
    }
  }
}

/**
 * Stops a server by pid: SIGTERM (a clean shutdown), then SIGKILL after timeoutMs. Resolves when
 * the process is gone.
 */
export async function stopByPid(pid: number, timeoutMs = 30_000): Promise<void> {
  const child = running.get(pid);
  const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !alive(pid));
  if (gone()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (!gone()) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  running.delete(pid);
}

/**
 * Removes base folders (created by createBaseDir with this prefix) whose owner process is gone:
 * kills, by pid, the servers it left running there (only a process whose command line names the
 * folder, in case the pid was reused), then deletes the folder.
 */
export async function sweepOrphans(prefix = 'belair-mariadb-'): Promise<void> {
  const root = tmpdir();
  for (const name of await readdir(root)) {
    if (!name.startsWith(prefix)) continue;
    const base = join(root, name);
    let owner: number;
    try {
      owner = Number(await readFile(join(base, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (owner === process.pid || alive(owner)) continue;
    for (const file of await readdir(base)) {
      const pid = Number(/^(\d+)\.mariadbd$/.exec(file)?.[1]);
      if (!pid || !alive(pid)) continue;
      try {
        const command = await readFile(`/proc/${pid}/cmdline`, 'utf8');
        if (command.includes(base)) process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await rm(base, { recursive: true, force: true });
  }
}
