/** The embedded MariaDB could not be initialised or started; the message says why and what to do. */
export class EmbeddedServerError extends Error {
  override name = 'EmbeddedServerError';
}

/** The last lines of a program's output, indented, for an error message. */
export function tail(text: string, lines = 15): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => `  ${line}`)
    .join('\n');
}
