import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this code belongs to (the folder of package.json, sql/ and, for a build, dist/). */
export const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the embedded MariaDB of one checkout keeps everything, all of it under `.data/`. */
export interface EmbeddedPaths {
  readonly root: string;
  /** `.data/`: git-ignored. */
  readonly dataRoot: string;
  /** `.data/mariadb/`: the server's data directory, kept from one start to the next. */
  readonly dataDir: string;
  /**
   * `.data/mariadb.tmp/`: the server's temporary folder. Not the system's: a server starting (or
   * installing) in a temporary folder another server uses has been seen to delete that server's
   * temporary tables under it.
   */
  readonly tmpDir: string;
  /** Held while a process initialises or starts the server, so that only one does. */
  readonly lock: string;
  /** The running instance, written by its supervisor: pids, port, version. */
  readonly state: string;
  /** The supervisor's socket: every process that uses the server holds a connection to it. */
  readonly supervisorSocket: string;
  /** mariadbd's own socket (belair connects over TCP; this keeps it off the system's socket). */
  readonly serverSocket: string;
  /** What mariadbd and its supervisor print. */
  readonly log: string;
}

/**
 * Unix socket paths hold at most 104 bytes on macOS (108 on Linux): a checkout deep in a home
 * folder could pass that, and then the sockets go to the temporary folder instead, named after
 * the checkout.
 */
const MAX_SOCKET_PATH = 100;

function socketPath(preferred: string, root: string, name: string): string {
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 16);
  return join(tmpdir(), `belair-${hash}-${name}`);
}

export function embeddedPaths(root: string = CHECKOUT): EmbeddedPaths {
  const dataRoot = join(root, '.data');
  const dataDir = join(dataRoot, 'mariadb');
  return {
    root,
    dataRoot,
    dataDir,
    tmpDir: join(dataRoot, 'mariadb.tmp'),
    lock: join(dataRoot, 'mariadb.lock'),
    state: join(dataRoot, 'mariadb.json'),
    supervisorSocket: socketPath(join(dataRoot, 'mariadb.sock'), root, 'supervisor.sock'),
    serverSocket: socketPath(join(dataDir, 'mariadbd.sock'), root, 'mariadbd.sock'),
    log: join(dataRoot, 'mariadb.log'),
  };
}
