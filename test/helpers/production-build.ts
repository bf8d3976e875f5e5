import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withFileLock } from '../../src/db/embedded/file-lock.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = join(tmpdir(), 'belair-build');
/** Builds of this checkout are named with this prefix; another checkout's are left alone. */
const CHECKOUT = createHash('sha256').update(ROOT).digest('hex').slice(0, 8);

/** The production build, laid out as the Docker image lays it out. */
export interface ProductionBuild {
  /** Holds dist/ (npm run build), sql/, node_modules and package.json, as /app in the image. */
  readonly root: string;
  /** dist/cli/NAME.js: what `node dist/cli/serve.js` runs in the image. */
  entry(name: string): string;
}

async function files(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** What the build is made from: the sources and the files that say how to compile them. */
async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const inputs = [
    ...(await files(join(ROOT, 'src'))),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => join(ROOT, f)),
  ];
  for (const file of inputs) {
    hash
      .update(relative(ROOT, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Runs the server's build (`npm run build:server`) once per state of the sources (the test files that need the build share
 * it, across workers and runs) into a folder laid out like the image's /app; its node_modules is
 * this checkout's.
 */
export async function productionBuild(): Promise<ProductionBuild> {
  const root = join(CACHE, `${CHECKOUT}-${await sourceHash()}`);
  const build = { root, entry: (name: string) => join(root, 'dist', 'cli', `${name}.js`) };
  await mkdir(CACHE, { recursive: true });
  await withFileLock(join(CACHE, `${CHECKOUT}.lock`), async () => {
    if (await exists(join(root, 'complete'))) return;
    for (const old of await readdir(CACHE)) {
      if (old.startsWith(`${CHECKOUT}-`))
        await rm(join(CACHE, old), { recursive: true, force: true });
    }
    await mkdir(root, { recursive: true });
    // The server's half of npm run build (the dashboard's half has tests of its own).
    await promisify(execFile)(
      'npm',
      ['run', 'build:server', '--', '--outDir', join(root, 'dist')],
      {
        cwd: ROOT,
      },
    );
    await copyFile(join(ROOT, 'package.json'), join(root, 'package.json'));
    await symlink(join(ROOT, 'sql'), join(root, 'sql'));
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    await writeFile(join(root, 'complete'), `${ROOT}\n`);
  });
  return build;
}
