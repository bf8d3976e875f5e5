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
