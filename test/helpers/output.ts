import { PassThrough } from 'node:stream';

/** stdout and stderr for a script's main function, keeping what it writes. */
export function captureOutput() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  return { stdout, stderr, text: () => ({ out, err }) };
}

/** A script's main run in this process with the environment given: its exit status and output. */
export async function runScript(
  main: (
    argv: string[],
    io: ReturnType<typeof captureOutput> & { env: Record<string, string> },
  ) => Promise<number>,
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const io = captureOutput();
  const code = await main(argv, { ...io, env });
  return { code, ...io.text() };
}
