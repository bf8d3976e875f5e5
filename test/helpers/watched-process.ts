import type { ChildProcess } from 'node:child_process';
import { waitFor } from './database.js';

/** How a process ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process a test started, and what it wrote. */
export interface WatchedProcess {
  readonly child: ChildProcess;
  /** Both streams in the order they came, without the logger's colours (ESC [ n m). */
  readonly output: { text: string };
  /** Each stream on its own, as written. */
  readonly seen: { out: string; err: string };
  readonly exited: Promise<Exit>;
  /** Waits until the output matches, and returns the match. */
  until(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
}

const COLOURS = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');

/**
 * Keeps what the process writes. `exitOn: 'close'` resolves `exited` once the process has exited
 * and so has every other that held its output (a script run by npm, which may end first).
 */
export function watchProcess(
  child: ChildProcess,
  options: { exitOn?: 'exit' | 'close' } = {},
): WatchedProcess {
  const output = { text: '' };
  const seen = { out: '', err: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    seen.out += chunk.toString();
    output.text += chunk.toString().replace(COLOURS, '');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    seen.err += chunk.toString();
    output.text += chunk.toString().replace(COLOURS, '');
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on(options.exitOn ?? 'exit', (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ code, signal }),
    ),
  );
  return {
    child,
    output,
    seen,
    exited,
    until: (pattern, what, timeoutMs = 90_000) =>
      waitFor(
        async () => pattern.exec(output.text) ?? undefined,
        timeoutMs,
        `${what}; the output so far:\n${output.text}`,
      ),
  };
}
