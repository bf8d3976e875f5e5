import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { isAlive } from './processes.js';

/**
 * A lock between the processes of one machine, as a file that holds its owner's pid. A crashed
 * owner leaves the file behind; the next process sees that its pid is gone and takes the lock
 * over. Meant for sections of seconds (initialising and starting a server), not for a lifetime.
 *
 * The file is created whole with link(), which fails when it exists, so that nobody ever reads a
 * half-written owner. Breaking a stale lock is itself guarded by a second lock file, so that two
 * processes that both saw the dead owner cannot both remove the lock: the second would remove the
 * one the first has just taken.
 */
export interface FileLockOptions {
  /** How long to wait for a live owner before failing. */
  readonly timeoutMs?: number;
  /** Called once when the lock is held by another live process and this one starts waiting. */
  readonly onWait?: (ownerPid: number) => void;
}

interface Owner {
  readonly pid: number;
  readonly token: string;
}

/** Any lock older than this is stale, whoever holds it: covers a dead owner's pid reused. */
const MAX_AGE_MS = 10 * 60_000;
const RETRY_MS = 100;

async function readOwner(path: string): Promise<(Owner & { ageMs: number }) | undefined> {
  let ageMs: number;
  let text: string;
  try {
    ageMs = Date.now() - (await stat(path)).mtimeMs;
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Owner;
    return { pid: Number(owner.pid), token: String(owner.token), ageMs };
  } catch {
    // Not written by this code: not ours to judge by its pid, but it ages out.
    return { pid: 0, token: '', ageMs };
  }
}

const stale = (owner: Owner & { ageMs: number }) =>
  owner.ageMs > MAX_AGE_MS || (owner.pid > 0 && !isAlive(owner.pid));

/** Creates `path` holding `owner`, or returns false when it exists. */
async function create(path: string, owner: Owner): Promise<boolean> {
  const draft = `${path}.${process.pid}.${owner.token}`;
  await writeFile(draft, JSON.stringify(owner));
  try {
    await link(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(draft).catch(() => {});
  }
}

/** Removes the lock at `path` if it still belongs to the stale owner seen. */
async function breakStale(path: string, seen: Owner): Promise<void> {
  const guard = `${path}.break`;
  const me = { pid: process.pid, token: randomBytes(8).toString('hex') };
  if (!(await create(guard, me))) {
    const breaker = await readOwner(guard);
    if (breaker && stale(breaker)) await unlink(guard).catch(() => {});
    return;
  }
  try {
    const owner = await readOwner(path);
    if (owner && owner.pid === seen.pid && owner.token === seen.token) await unlink(path);
  } finally {
    await unlink(guard).catch(() => {});
  }
}

export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const me = { pid: process.pid, token: randomBytes(8).toString('hex') };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let told = false;
  while (!(await create(path, me))) {
    const owner = await readOwner(path);
    if (owner === undefined) continue;
    if (stale(owner)) {
      await breakStale(path, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${path} is held by process ${owner.pid} since ${Math.round(owner.ageMs / 1000)} s: if no belair process is starting, remove the file`,
      );
    }
    if (!told) options.onWait?.(owner.pid);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  try {
    return await fn();
  } finally {
    const owner = await readOwner(path);
    if (owner?.token === me.token) await unlink(path).catch(() => {});
  }
}
