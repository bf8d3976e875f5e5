import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process (mariadbd runs as mysql under root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a running process, or undefined when there is none with this pid. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    // No /proc (macOS): ps, at full width.
  }
  try {
    return execFileSync('ps', ['-ww', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is still the process that was recorded, known by a text its command line holds
 * (its data directory, say): after a reboot, a recorded pid may belong to anything.
 */
export function isRunning(pid: number, holding: string): boolean {
  return pid > 0 && isAlive(pid) && (commandLine(pid)?.includes(holding) ?? false);
}
