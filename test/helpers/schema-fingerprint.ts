import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface FingerprintOptions {
  /**
   * Include what depends on the session that created an object (its character_set_client and
   * collation_connection) and on when it was created (an EVENT's STARTS). On for comparing one
   * database with itself; off for comparing databases built by different clients at other times.
   */
  readonly sessionAndTime: boolean;
}

const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/**
 * Everything a migration decides in a database, as plain data to compare: the definitions of its
 * tables and views, its routines and their parameters, its EVENTs (without the bookkeeping the
 * server changes on every ALTER: CREATED, LAST_ALTERED, LAST_EXECUTED), and the rows of every table.
 */
export async function schemaFingerprint(
  pool: Pool,
  database: string,
  options: FingerprintOptions,
): Promise<Record<string, unknown>> {
  const db = quote(database);
  const [tables] = await pool.query<RowDataPacket[]>(
    'SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    [database],
  );
  const definitions: Record<string, unknown> = {};
  const rows: Record<string, string[]> = {};
  for (const { name, type } of tables) {
    if (type === 'VIEW') {
      const [[view]] = await pool.query<RowDataPacket[]>(`SHOW CREATE VIEW ${db}.${quote(name)}`);
      // Seen from another database, the definition names its own: leave that name out.
      const definition = String(view?.['Create View']).replaceAll(`${db}.`, '');
      definitions[name] = options.sessionAndTime
        ? { ...view, 'Create View': definition }
        : { View: view?.View, 'Create View': definition };
      continue;
    }
    const [[table]] = await pool.query<RowDataPacket[]>(`SHOW CREATE TABLE ${db}.${quote(name)}`);
    definitions[name] = table?.['Create Table'];
    const [content] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${db}.${quote(name)}`);
    rows[name] = content.map((row) => JSON.stringify(row)).sort();
  }

  const sessionColumns = options.sessionAndTime
    ? ', CHARACTER_SET_CLIENT, COLLATION_CONNECTION, DATABASE_COLLATION'
    : '';
  const [routines] = await pool.query<RowDataPacket[]>(
    `SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_BODY, ROUTINE_DEFINITION,
            IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER
            ${sessionColumns}
     FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME`,
    [database],
  );
  const [parameters] = await pool.query<RowDataPacket[]>(
    `SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER,
            CHARACTER_SET_NAME, COLLATION_NAME
     FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ?
     ORDER BY SPECIFIC_NAME, ORDINAL_POSITION`,
    [database],
  );
  const [events] = await pool.query<RowDataPacket[]>(
    `SELECT EVENT_NAME, DEFINER, TIME_ZONE, EVENT_BODY, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT,
            INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT,
            ORIGINATOR
            ${options.sessionAndTime ? `${sessionColumns}, STARTS` : ''}
     FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME`,
    [database],
  );
  const [triggers] = await pool.query<RowDataPacket[]>(
    `SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`,
    [database],
  );
  return { definitions, routines, parameters, events, triggers, rows };
}
