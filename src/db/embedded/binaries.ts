import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface MariadbBinaries {
  readonly mariadbd: string;
  readonly installDb: string;
}

/**
 * Where packages put the server besides PATH: Debian and Ubuntu in /usr/sbin (not in a normal
 * user's PATH), Fedora in /usr/libexec, Homebrew in /opt/homebrew (Apple silicon) or /usr/local.
 */
export const SERVER_FOLDERS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/libexec',
  '/opt/homebrew/bin',
  '/opt/homebrew/sbin',
  '/opt/homebrew/opt/mariadb/bin',
  '/usr/local/bin',
  '/usr/local/opt/mariadb/bin',
];

/** The server is not installed: `message` says, in one screen, what to do about it. */
export class MariadbNotInstalledError extends Error {
  override name = 'MariadbNotInstalledError';
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function find(name: string, folders: readonly string[]): string | undefined {
  for (const folder of folders) {
    const path = join(folder, name);
    if (executable(path)) return path;
  }
  return undefined;
}

function installAdvice(why: string): string {
  return [
    `${why}, and MariaDB's server (mariadbd and mariadb-install-db, 10.5 or later) is not installed:`,
    `not in PATH, nor in ${SERVER_FOLDERS.join(', ')}.`,
    '',
    'Install it, then run the same command again:',
    '  Debian, Ubuntu     sudo apt-get install mariadb-server',
    '  macOS (Homebrew)   brew install mariadb',
    '  Fedora             sudo dnf install mariadb-server',
    '',
    'or start the MariaDB of docker-compose.yml, which answers at 127.0.0.1:3306:',
    '  docker compose up -d db',
    '',
    'or point belair at a MariaDB of yours with DB_HOSTNAME, DB_PORT, DB_USERNAME and',
    'DB_PASSWORD (or DATABASE_URL). More in docs/embedded-database.md.',
  ].join('\n');
}

/**
 * Finds mariadbd and mariadb-install-db in PATH, then in the folders packages install them to.
 * `why` starts the message of the MariadbNotInstalledError thrown when either is missing.
 */
export function findMariadb(
  why: string,
  env: Record<string, string | undefined> = process.env,
): MariadbBinaries {
  const path = (env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
  const folders = [...path, ...SERVER_FOLDERS.filter((folder) => !path.includes(folder))];
  const mariadbd = find('mariadbd', folders);
  const installDb = find('mariadb-install-db', folders);
  if (mariadbd === undefined || installDb === undefined) {
    throw new MariadbNotInstalledError(installAdvice(why));
  }
  return { mariadbd, installDb };
}
