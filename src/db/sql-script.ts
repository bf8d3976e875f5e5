/**
 * Splits an SQL script into statements the way the `mariadb` command-line client does, so that
 * the files in sql/ mean the same to the client (docker-compose's init scripts) and to the
 * migrator:
 *
 * - a statement ends at the current delimiter (`;` at first) found outside quotes
 *   ('...', "...", `...`) and comments (`-- ` and `#` to the end of the line, `/* ... *\/`);
 * - `DELIMITER x` on a line of its own, outside a statement, changes the delimiter: it is a
 *   command of the client, never sent to the server;
 * - statements holding nothing but white space and comments are dropped.
 */
export interface SqlStatement {
  readonly sql: string;
  /** 1-based line of the script where the statement starts, for error messages. */
  readonly line: number;
}

const DELIMITER_COMMAND = /^\s*delimiter\s+(\S+)/i;

export function splitSqlScript(script: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let delimiter = ';';
  let buffer = '';
  let bufferLine = 1;
  let hasCode = false; // the buffer holds more than white space and comments
  let quote: string | null = null; // the open quote character, if any
  let blockComment = false;

  const flush = () => {
    if (hasCode) statements.push({ sql: buffer.trim(), line: bufferLine });
    buffer = '';
    hasCode = false;
  };

  const lines = script.split('\n');
  lines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;

    if (!hasCode && quote === null && !blockComment) {
      const command = DELIMITER_COMMAND.exec(line);
      if (command?.[1]) {
        delimiter = command[1];
        buffer = '';
        return;
      }
    }
    if (!hasCode && buffer.trim() === '') bufferLine = lineNumber;

    let i = 0;
    while (i < line.length) {
      const char = line[i] as string;
      if (blockComment) {
        if (line.startsWith('*/', i)) {
          blockComment = false;
          buffer += '*/';
          i += 2;
        } else {
          buffer += char;
          i += 1;
        }
        continue;
      }
      if (quote !== null) {
        buffer += char;
        if (char === '\\' && quote !== '`' && i + 1 < line.length) {
          buffer += line[i + 1];
          i += 2;
          continue;
        }
        if (char === quote) {
          if (line[i + 1] === quote) {
            // a doubled quote stands for itself inside the string
            buffer += quote;
            i += 2;
            continue;
          }
          quote = null;
        }
        i += 1;
        continue;
      }
      if (line.startsWith(delimiter, i)) {
        flush();
        i += delimiter.length;
        if (line.slice(i).trim() === '') break;
        bufferLine = lineNumber;
        continue;
      }
      if (
        char === '#' ||
        (line.startsWith('--', i) && (i + 2 >= line.length || /\s/.test(line[i + 2] as string)))
      ) {
        buffer += line.slice(i);
        break;
      }
      if (line.startsWith('/*', i)) {
        blockComment = true;
        buffer += '/*';
        i += 2;
        continue;
      }
      if (char === "'" || char === '"' || char === '`') quote = char;
      if (!/\s/.test(char)) {
        if (!hasCode) bufferLine = lineNumber;
        hasCode = true;
      }
      buffer += char;
      i += 1;
    }
    if (index < lines.length - 1) buffer += '\n';
  });
  flush();
  return statements;
}
