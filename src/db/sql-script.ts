/**
 * Splits an SQL script into statements exactly as the `mariadb` command-line client does when a
 * file is piped into it (its default, --skip-comments), so that the files in sql/ mean the same to
 * the client (docker-compose's init scripts) and to the migrator, down to the text of the stored
 * routines the server keeps:
 *
 * - a statement ends at the current delimiter (`;` at first) found outside quotes ('...', "...",
 *   `...`, where a backslash escapes the next character except between backticks) and outside
 *   comments;
 * - comments are removed: `#` and `-- ` to the end of the line, and `/* ... *\/`, which leaves a
 *   space where it joined two words. Executable comments (`/*! ... *\/`, `/*M! ... *\/`) are kept:
 *   they are SQL for the server;
 * - `DELIMITER x` as the first thing of a statement changes the delimiter for what follows; it is a
 *   command of the client, never sent to the server;
 * - a statement is sent without its leading white space and without trailing white space; its lines
 *   keep their inner spacing; CRLF line ends become LF; statements that hold nothing once the
 *   comments are gone are dropped; the text after the last delimiter is a statement too.
 *
 * What the client would do differently is refused with a SqlScriptError naming the line: its other
 * commands written with a backslash (`\g`, `\c`, ...) and a DELIMITER command that does not start
 * a line of its own.
 */
export interface SqlStatement {
  readonly sql: string;
  /** 1-based line of the script where the statement's text starts, for error messages. */
  readonly line: number;
}

export class SqlScriptError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'SqlScriptError';
  }
}

type Quote = '' | "'" | '"' | '`';

const isSpace = (char: string | undefined): boolean =>
  char !== undefined && /[ \t\n\v\f\r]/.test(char);

// The client's other commands, which it runs when one starts a statement on a line without the
// delimiter: these take an argument...
const CLIENT_COMMANDS_WITH_ARGUMENT =
  /^\s*(\?|charset|connect|help|pager|prompt|source|system|tee|use)(\s|$)/i;
// ...and these stand alone.
const CLIENT_COMMANDS =
  /^\s*(clear|edit|ego|exit|go|nopager|notee|print|quit|rehash|status|warnings|nowarning)\s*$/i;

/** The client's `DELIMITER x` command: the argument, or null when the line is no such command. */
function delimiterCommand(line: string, lineNumber: number): string | null {
  const match = /^\s*delimiter(?:[ \t]+(.*))?$/i.exec(line);
  if (!match) return null;
  const rest = match[1] ?? '';
  let argument: string;
  const quote = rest[0];
  if (quote === "'" || quote === '"' || quote === '`') {
    const end = rest.indexOf(quote, 1);
    argument = end > 0 ? rest.slice(1, end) : '';
  } else {
    // Unquoted, the argument runs to the next space, as the client's get_arg reads it.
    argument = rest.split(' ')[0] ?? '';
  }
  if (argument === '') {
    throw new SqlScriptError(
      "DELIMITER must be followed by a delimiter, such as $$ or ';'",
      lineNumber,
    );
  }
  if (argument.includes('\\')) {
    throw new SqlScriptError('DELIMITER cannot contain a backslash', lineNumber);
  }
  return argument;
}

export function splitSqlScript(script: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let delimiter = ';';
  let buffer = ''; // the statement read so far, comments removed
  let bufferLine = 0; // where its text starts
  let quote: Quote = '';
  let blockComment = false;

  const emit = () => {
    // The client trims trailing white space and control characters before it sends.
    let end = buffer.length;
    while (end > 0 && (buffer.charCodeAt(end - 1) <= 0x20 || buffer.charCodeAt(end - 1) === 0x7f)) {
      end -= 1;
    }
    const sql = buffer.slice(0, end);
    if (sql !== '') statements.push({ sql, line: bufferLine });
    buffer = '';
  };

  const lines = script.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;

    if (buffer === '' && quote === '' && !blockComment) {
      const newDelimiter = delimiterCommand(line, lineNumber);
      if (newDelimiter !== null) {
        delimiter = newDelimiter;
        return;
      }
      if (
        !line.includes(delimiter) &&
        (CLIENT_COMMANDS_WITH_ARGUMENT.test(line) || CLIENT_COMMANDS.test(line))
      ) {
        throw new SqlScriptError(
          `"${line.trim()}" is a command of the mariadb client, not supported here`,
          lineNumber,
        );
      }
    }

    // The part of this line accepted so far; moved to buffer at each comment and delimiter.
    let out = '';
    let needSpace = false; // a block comment just closed: separate what it joined
    let executableComment = false;
    const accept = (text: string) => {
      if (buffer === '' && out === '') bufferLine = lineNumber;
      out += text;
    };

    for (let i = 0; i < line.length; i++) {
      const char = line[i] as string;
      if (isSpace(char) && out === '' && buffer === '') continue; // leading white space

      if (!blockComment && char === '\\' && quote !== '`') {
        if (i + 1 >= line.length) break; // the client drops a backslash that ends a line
        const next = line[i + 1] as string;
        i += 1;
        if (quote !== '' || next === 'N') {
          accept(char + next);
          continue;
        }
        throw new SqlScriptError(
          `the client command \\${next} is not supported here; end statements with the delimiter`,
          lineNumber,
        );
      }
      if (!blockComment && quote === '' && line.startsWith(delimiter, i)) {
        i += delimiter.length - 1;
        buffer += out;
        out = '';
        emit();
        continue;
      }
      if (
        !blockComment &&
        quote === '' &&
        (char === '#' ||
          (char === '-' &&
            line[i + 1] === '-' &&
            (i + 2 >= line.length || isSpace(line[i + 2]) || (buffer === '' && out === ''))))
      ) {
        break; // a comment to the end of the line
      }
      if (
        quote === '' &&
        char === '/' &&
        line[i + 1] === '*' &&
        !(line[i + 2] === '!' || (line[i + 2] === 'M' && line[i + 3] === '!'))
      ) {
        i += 1;
        blockComment = true;
        buffer += out;
        out = '';
        continue;
      }
      if (blockComment && !executableComment && char === '*' && line[i + 1] === '/') {
        i += 1;
        blockComment = false;
        buffer += out;
        out = '';
        needSpace = true;
        continue;
      }
      if (quote === '' && char === '/' && line[i + 1] === '*' && line[i + 2] === '!') {
        executableComment = true;
      } else if (quote === '' && executableComment && char === '*' && line[i + 1] === '/') {
        executableComment = false;
      }
      if (char === quote) quote = '';
      else if (!blockComment && quote === '' && (char === "'" || char === '"' || char === '`')) {
        quote = char;
      }
      if (!blockComment) {
        if (needSpace && !isSpace(char)) accept(' ');
        needSpace = false;
        accept(char);
      }
    }

    if (buffer === '' && quote === '' && !blockComment && /^\s*delimiter\s/i.test(out)) {
      throw new SqlScriptError(
        'DELIMITER must start a line of its own, after the previous statement has ended',
        lineNumber,
      );
    }
    if ((out !== '' || buffer !== '') && !blockComment) buffer += `${out}\n`;
  });
  emit();
  return statements;
}
