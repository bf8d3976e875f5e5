import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqlScriptError, splitSqlScript } from '../../src/db/sql-script.js';

// How the migrator cuts sql/ files into statements. That the server then builds what the mariadb
// client builds from the same files: test/migrate.test.ts.

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/client-split/', import.meta.url));

describe('splitSqlScript', () => {
  it('splits at the delimiter, outside quotes and comments, with the line each statement starts on', () => {
    const script = [
      '-- header; with a semicolon',
      'SELECT 1;',
      '',
      "SELECT ';' AS a,",
      '  "--" AS b, `x;y` AS c; SELECT 3;',
      '/* a ; comment */ SELECT 4',
    ].join('\n');
    expect(splitSqlScript(script)).toEqual([
      { sql: 'SELECT 1', line: 2 },
      { sql: 'SELECT \';\' AS a,\n  "--" AS b, `x;y` AS c', line: 4 },
      { sql: 'SELECT 3', line: 5 },
      { sql: ' SELECT 4', line: 6 },
    ]);
  });

  it('reads CRLF files as LF files', () => {
    const lf =
      'DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\nDELIMITER ;\nSELECT 2;\n';
    const crlf = lf.replaceAll('\n', '\r\n');
    expect(splitSqlScript(crlf)).toEqual(splitSqlScript(lf));
    expect(splitSqlScript(crlf)).toEqual([
      { sql: 'CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND', line: 2 },
      { sql: 'SELECT 2', line: 7 },
    ]);
  });

  it('changes the delimiter with DELIMITER, any case, quoted or not, and never sends it', () => {
    const script = [
      'delimiter $$',
      'SELECT 1; SELECT 2 $$',
      "  Delimiter ';;'",
      'SELECT "$$";;',
      'DELIMITER ;',
      'SELECT 3;',
    ].join('\n');
    expect(splitSqlScript(script).map((s) => s.sql)).toEqual([
      'SELECT 1; SELECT 2',
      'SELECT "$$"',
      'SELECT 3',
    ]);
  });

  it('drops comments as the client does, keeping executable comments and the words apart', () => {
    const script = [
      'SELECT 1 -- one',
      '  # two',
      '  + 2/* three */+ 3 /* four',
      ' still four */ AS n, 8--1 AS m, /*! 5 */ 6;',
      '--no space at the start of a statement is a comment too',
      '/*M!100000 SELECT 7 */;',
    ].join('\n');
    expect(splitSqlScript(script).map((s) => s.sql)).toEqual([
      'SELECT 1 \n  \n  + 2 + 3  AS n, 8--1 AS m, /*! 5 */ 6',
      '/*M!100000 SELECT 7 */',
    ]);
  });

  it('keeps backslash escapes in strings and drops a statement of nothing but comments', () => {
    expect(splitSqlScript('SELECT \'it\\\'s; fine\', "a\\"b";\n-- only a comment\n;\n')).toEqual([
      { sql: 'SELECT \'it\\\'s; fine\', "a\\"b"', line: 1 },
    ]);
  });

  it('the fixture: 16 statements, as the client sends them', async () => {
    const statements = splitSqlScript(await readFile(join(FIXTURE_DIR, 'script.sql'), 'utf8'));
    expect(statements).toHaveLength(16);
    expect(statements.map((s) => s.line)).toEqual([
      6, 8, 14, 15, 16, 17, 19, 19, 22, 34, 39, 40, 42, 43, 44, 45,
    ]);
  });

  it('refuses what the client would read differently, naming the line', () => {
    const refusal = (script: string) => {
      try {
        splitSqlScript(script);
      } catch (error) {
        return error instanceof SqlScriptError ? error.message : `not a SqlScriptError: ${error}`;
      }
      return 'accepted';
    };
    expect(refusal('SELECT 1;\nSELECT 2\\g\n')).toBe(
      'line 2: the client command \\g is not supported here; end statements with the delimiter',
    );
    expect(refusal('SELECT 1; DELIMITER //\n')).toBe(
      'line 1: DELIMITER must start a line of its own, after the previous statement has ended',
    );
    expect(refusal('\nDELIMITER\n')).toBe(
      "line 2: DELIMITER must be followed by a delimiter, such as $$ or ';'",
    );
    expect(refusal('USE other\nSELECT 1;\n')).toBe(
      'line 1: "USE other" is a command of the mariadb client, not supported here',
    );
    expect(refusal('USE other;\nSELECT \\N;\n')).toBe('accepted');
  });
});
