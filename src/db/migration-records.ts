import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import type { Queryable } from './queryable.js';

/**
 * The record of the sql/ files applied to a database: one row per file, with the checksum of the
 * text that was applied. It is created by the migrator rather than by a file of sql/, since the
 * migrator reads it before it applies anything.
 */
export const MIGRATION_TABLE = 'schema_migration';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${MIGRATION_TABLE} (
  file        VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  checksum    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
              COMMENT 'SHA-256 of the file as applied, its line ends as LF, in hex',
  applied_at  DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (file)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='The sql/ files applied to this database, and what each held (npm run db:migrate)'`;

/**
 * The checksum a file is recorded with. Line ends are LF first, so that a checkout that turns
 * them into CRLF (git's autocrlf) does not count as a change: the statements are the same.
 */
export function sqlChecksum(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

export interface AppliedFile {
  readonly file: string;
  readonly checksum: string;
  readonly appliedAt: Date;
}

export interface SqlFileState {
  readonly file: string;
  readonly checksum: string;
}

/** What the record says of the files of sql/. */
export interface MigrationStatus {
  /** Whether the database has a record at all (databases migrated before it existed do not). */
  readonly recorded: boolean;
  readonly applied: readonly AppliedFile[];
  /** Files of sql/ not applied yet, in order. */
  readonly pending: readonly string[];
  /** Applied files whose text changed since. */
  readonly changed: readonly { readonly file: string; readonly appliedAt: Date }[];
  /** Applied files no longer in sql/ (another branch's, say): reported, never refused. */
  readonly unknown: readonly string[];
}

export async function createMigrationTable(db: Queryable): Promise<void> {
  await db.query(CREATE_TABLE);
}

/** Whether the current database has the record table. */
export async function hasMigrationTable(db: Queryable): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>(
    `/* hasMigrationTable */
     SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [MIGRATION_TABLE],
  );
  return rows.length > 0;
}

/** Compares the record of the current database with the files of sql/ (sorted by name). */
export async function readMigrationStatus(
  db: Queryable,
  files: readonly SqlFileState[],
): Promise<MigrationStatus> {
  if (!(await hasMigrationTable(db))) {
    return {
      recorded: false,
      applied: [],
      pending: files.map((f) => f.file),
      changed: [],
      unknown: [],
    };
  }
  const [rows] = await db.query<RowDataPacket[]>(
    `/* readMigrationStatus */
     SELECT file, checksum, applied_at AS appliedAt FROM ${MIGRATION_TABLE} ORDER BY file`,
  );
  const applied = rows.map((row) => ({
    file: String(row.file),
    checksum: String(row.checksum),
    appliedAt: row.appliedAt as Date,
  }));
  const byName = new Map(applied.map((record) => [record.file, record]));
  const names = new Set(files.map((f) => f.file));
  return {
    recorded: true,
    applied,
    pending: files.filter((f) => !byName.has(f.file)).map((f) => f.file),
    changed: files.flatMap((f) => {
      const record = byName.get(f.file);
      return record && record.checksum !== f.checksum
        ? [{ file: f.file, appliedAt: record.appliedAt }]
        : [];
    }),
    unknown: applied.filter((record) => !names.has(record.file)).map((record) => record.file),
  };
}

export async function recordApplied(db: Queryable, file: SqlFileState): Promise<void> {
  await db.query(
    `/* recordApplied */
     INSERT INTO ${MIGRATION_TABLE} (file, checksum, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))
     ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), applied_at = VALUES(applied_at)`,
    [file.file, file.checksum],
  );
}
