import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { promisify } from 'node:util';
import type { MariadbBinaries } from './binaries.js';
import { EmbeddedServerError, tail } from './errors.js';
import type { EmbeddedPaths } from './paths.js';

/** The unprivileged user mariadbd runs as when belair runs as root: mariadbd refuses root. */
export interface ServerUser {
  readonly name: string;
  readonly uid: number;
  readonly gids: readonly number[];
}

const SERVER_USER = 'mysql';

/** undefined when this process is not root: the server then runs as whoever runs belair. */
export function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8' });
    return {
      name: SERVER_USER,
      uid: Number(id('-u').trim()),
      gids: id('-G').trim().split(/\s+/).map(Number),
    };
  } catch {
    throw new EmbeddedServerError(
      `belair runs as root, and mariadbd refuses to: the embedded MariaDB runs as the ${SERVER_USER} user, which this machine does not have. Create it (the mariadb-server package does), or run belair as an ordinary user.`,
    );
  }
}

/**
 * The first folder on the way to `path` (itself included) that `user` may not pass through, by
 * the permission bits: a folder of mode 700, such as mktemp -d makes, stops mariadb-install-db
 * with a terse message.
 */
export async function untraversable(path: string, user: ServerUser): Promise<string | undefined> {
  const folders: string[] = [];
  for (let folder = path; ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of folders) {
    const { mode, uid, gid } = await stat(folder);
    const passes =
      (uid === user.uid && mode & 0o100) ||
      (user.gids.includes(gid) && mode & 0o010) ||
      mode & 0o001;
    if (!passes) return folder;
  }
  return undefined;
}

/**
 * Creates the data directory with mariadb-install-db on first use; returns whether it did. The
 * install goes to a folder beside it, renamed when complete, so that an interrupted first start
 * leaves nothing half-made behind.
 */
export async function initialiseDataDir(
  paths: EmbeddedPaths,
  binaries: MariadbBinaries,
  user: ServerUser | undefined,
): Promise<boolean> {
  await mkdir(paths.dataRoot, { recursive: true });
  if (user) {
    // The server's user must reach its data directory whatever this process's umask made.
    await chmod(paths.dataRoot, 0o755);
    const blocked = await untraversable(paths.dataRoot, user);
    if (blocked) {
      throw new EmbeddedServerError(
        `The embedded MariaDB runs as the ${user.name} user, which may not enter ${blocked} (no x permission for it). Allow it (chmod o+x ${blocked}) or put the checkout elsewhere.`,
      );
    }
  }
  // At every start: a data directory made before the server had a temporary folder of its own
  // gets one too.
  await mkdir(paths.tmpDir, { recursive: true });
  if (user) await chown(paths.tmpDir, user.uid, user.gids[0] ?? user.uid);
  if (await exists(`${paths.dataDir}/mysql`)) return false;
  const draft = `${paths.dataDir}.new`;
  await rm(draft, { recursive: true, force: true });
  const args = [
    '--no-defaults',
    `--datadir=${draft}`,
    `--tmpdir=${paths.tmpDir}`,
    // root may log in over TCP without a password: the same defaults as a local MariaDB.
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...(user ? [`--user=${user.name}`] : []),
  ];
  try {
    await promisify(execFile)(binaries.installDb, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new EmbeddedServerError(
      `mariadb-install-db could not create ${relative(paths.root, paths.dataDir)}:\n${tail(`${stdout}\n${stderr}`)}`,
    );
  }
  try {
    await rename(draft, paths.dataDir);
  } catch (error) {
    await rm(draft, { recursive: true, force: true });
    throw new EmbeddedServerError(
      `${paths.dataDir} exists but holds no MariaDB data (${(error as Error).message}): move it away and run the command again`,
    );
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
