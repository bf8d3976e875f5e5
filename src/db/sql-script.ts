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

/** What the scanner is inside: statement text, a quoted string or name, or a block comment. */
type Mode = 'code' | 'comment' | "'" | '"' | '`';

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

/** The statement being read: its text so far (comments removed) and where that text starts. */
class Statement {
  text = '';
  line = 0;
  /**
   * The text went past a line end or a block comment: the client holds it in its buffer, where a
   * DELIMITER typed afterwards is no longer a command of its own.
   */
  buffered = false;

  get empty(): boolean {
    return this.text === '';
  }

  add(text: string, lineNumber: number): void {
    if (this.text === '') this.line = lineNumber;
    this.text += text;
  }

  /** Empties the statement: its text as the client sends it, trailing white space cut. */
  take(): SqlStatement | null {
    let end = this.text.length;
    while (
      end > 0 &&
      (this.text.charCodeAt(end - 1) <= 0x20 || this.text.charCodeAt(end - 1) === 0x7f)
    ) {
      end -= 1;
    }
    const sql = this.text.slice(0, end);
    this.text = '';
    this.buffered = false;
    return sql === '' ? null : { sql, line: this.line };
  }
}

const isQuote = (char: string): char is '"' | "'" | '`' =>
  char === "'" || char === '"' || char === '`';

const opensExecutableComment = (line: string, i: number): boolean =>
  line[i + 2] === '!' || (line[i + 2] === 'M' && line[i + 3] === '!');

/**
 * Reads a script line by line, and each line token by token with the reader of the current mode
 * (code, quoted, comment); each reader returns where the next token starts (line.length: the
 * rest of the line is dropped).
 */
class Scanner {
  readonly statements: SqlStatement[] = [];
  readonly #statement = new Statement();
  #delimiter = ';';
  #mode: Mode = 'code';
  // Per line, as the client keeps them:
  #lineNumber = 0;
  /** A block comment just closed: the next character, if not white space, is set apart by one. */
  #spaceDue = false;
  /** Inside `/*! ... *\/` on this line: a block comment opened in it closes at the second `*\/`. */
  #inExecutableComment = false;

  line(rawLine: string, lineNumber: number): void {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    this.#lineNumber = lineNumber;
    this.#spaceDue = false;
    this.#inExecutableComment = false;
    if (this.#atStatementStart() && this.#clientCommand(line)) return;

    let i = 0;
    while (i < line.length) {
      if (this.#mode === 'code') i = this.#readCode(line, i);
      else if (this.#mode === 'comment') i = this.#readComment(line, i);
      else i = this.#readQuoted(line, i, this.#mode);
    }

    const statement = this.#statement;
    if (this.#mode === 'code' && !statement.buffered && /^\s*delimiter\s/i.test(statement.text)) {
      throw new SqlScriptError(
        'DELIMITER must start a line of its own, after the previous statement has ended',
        lineNumber,
      );
    }
    if (!statement.empty && this.#mode !== 'comment') {
      statement.add('\n', lineNumber);
      statement.buffered = true;
    }
  }

  /** The text after the last delimiter. */
  end(): void {
    this.#emit();
  }

  #atStatementStart(): boolean {
    return this.#statement.empty && this.#mode === 'code';
  }

  /** A DELIMITER command (applied) or another command of the client (refused). */
  #clientCommand(line: string): boolean {
    const delimiter = delimiterCommand(line, this.#lineNumber);
    if (delimiter !== null) {
      this.#delimiter = delimiter;
      return true;
    }
    if (
      !line.includes(this.#delimiter) &&
      (CLIENT_COMMANDS_WITH_ARGUMENT.test(line) || CLIENT_COMMANDS.test(line))
    ) {
      throw new SqlScriptError(
        `"${line.trim()}" is a command of the mariadb client, not supported here`,
        this.#lineNumber,
      );
    }
    return false;
  }

  #readCode(line: string, i: number): number {
    const char = line[i] as string;
    if (this.#statement.empty && isSpace(char)) return i + 1; // leading white space
    if (char === '\\') {
      if (i + 1 >= line.length) return line.length; // the client drops a backslash that ends a line
      const next = line[i + 1] as string;
      if (next !== 'N') {
        throw new SqlScriptError(
          `the client command \\${next} is not supported here; end statements with the delimiter`,
          this.#lineNumber,
        );
      }
      this.#statement.add(char + next, this.#lineNumber);
      return i + 2;
    }
    if (line.startsWith(this.#delimiter, i)) {
      this.#emit();
      return i + this.#delimiter.length;
    }
    if (char === '#' || (char === '-' && line[i + 1] === '-' && this.#dashesComment(line, i))) {
      return line.length; // a comment to the end of the line
    }
    if (char === '/' && line[i + 1] === '*') {
      if (!opensExecutableComment(line, i)) {
        if (!this.#statement.empty) this.#statement.buffered = true;
        this.#mode = 'comment';
        return i + 2;
      }
      // Executable comments are SQL for the server: their text is kept, only marked.
      if (line[i + 2] === '!') this.#inExecutableComment = true;
    } else if (this.#inExecutableComment && char === '*' && line[i + 1] === '/') {
      this.#inExecutableComment = false;
    }
    if (isQuote(char)) this.#mode = char;
    this.#accept(char);
    return i + 1;
  }

  /** `--` starts a comment before white space, at the end of a line, or at a statement's start. */
  #dashesComment(line: string, i: number): boolean {
    return i + 2 >= line.length || isSpace(line[i + 2]) || this.#statement.empty;
  }

  #readQuoted(line: string, i: number, quote: "'" | '"' | '`'): number {
    const char = line[i] as string;
    if (char === '\\' && quote !== '`') {
      // A backslash escapes the next character, except between backticks.
      if (i + 1 >= line.length) return line.length; // the client drops a backslash that ends a line
      this.#statement.add(char + line[i + 1], this.#lineNumber);
      return i + 2;
    }
    if (char === quote) this.#mode = 'code';
    this.#accept(char);
    return i + 1;
  }

  #readComment(line: string, i: number): number {
    const char = line[i];
    const next = line[i + 1];
    if (char === '/' && next === '*') {
      if (!opensExecutableComment(line, i)) return i + 2;
      if (line[i + 2] === '!') this.#inExecutableComment = true;
    } else if (char === '*' && next === '/') {
      if (!this.#inExecutableComment) {
        this.#mode = 'code';
        this.#spaceDue = true;
        return i + 2;
      }
      this.#inExecutableComment = false;
    }
    return i + 1;
  }

  #accept(char: string): void {
    if (this.#spaceDue && !isSpace(char)) this.#statement.add(' ', this.#lineNumber);
    this.#spaceDue = false;
    this.#statement.add(char, this.#lineNumber);
  }

  #emit(): void {
    const statement = this.#statement.take();
    if (statement) this.statements.push(statement);
  }
}

export function splitSqlScript(script: string): SqlStatement[] {
  const scanner = new Scanner();
  const lines = script.replace(/^\uFEFF/, '').split('\n');
  for (const [index, line] of lines.entries()) scanner.line(line, index + 1);
  scanner.end();
  return scanner.statements;
}
