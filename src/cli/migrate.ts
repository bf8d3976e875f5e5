import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { type MigrateResult, migrate, migrationStatus } from '../db/migrate.js';
import { type ScriptIo, withScriptDatabase } from './database.js';
import { argumentsOrExit, isEntryPoint, parseCommandLine } from './options.js';

const USAGE = `Usage: npm run db:migrate -- [options]
       (npm run db:migrate:prod -- [options] in a production build)

Creates the database of the DB_* variables if it is missing and applies the files of sql/ that
it has not applied yet, in order, recording each with its checksum (table schema_migration).
With nothing configured and nothing answering at 127.0.0.1:3306, it works on the checkout's
embedded MariaDB (.data/). It refuses to run when an applied file changed since, before it
applies anything.

Options:
  --status           say what is applied, pending or changed, and change nothing
  --reapply <file>   apply this file again even though it was applied, and record its new
                     checksum (repeatable; "all" for every file): how a change to an applied
                     file is accepted on purpose. The files are idempotent.
  -h, --help         this text

Exit status: 0 done; 1 it failed or --status found something to do; 2 a usage error, or the
event scheduler is off so that the windows will not refresh.`;

export interface MigrateArguments {
  readonly status: boolean;
  readonly reapply: readonly string[] | 'all';
}

export function parseMigrateArguments(argv: string[]): MigrateArguments | 'help' {
  const { values } = parseCommandLine(argv, {
    options: {
      status: { type: 'boolean', default: false },
      reapply: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  return {
    status: values.status,
    reapply: values.reapply.includes('all') ? 'all' : values.reapply,
  };
}

export type MigrateIo = ScriptIo;

async function printStatus(config: Config, io: MigrateIo): Promise<number> {
  const status = await migrationStatus(config.db);
  const applied = new Map(status.applied.map((record) => [record.file, record]));
  const changed = new Set(status.changed.map((c) => c.file));
  for (const file of status.files) {
    const record = applied.get(file);
    const state = !record
      ? 'pending'
      : `${changed.has(file) ? 'CHANGED since it was applied' : 'applied'} ${record.appliedAt.toISOString()}`;
    io.stdout.write(`  ${file.padEnd(32)} ${state}\n`);
  }
  for (const file of status.unknown) io.stdout.write(`  ${file.padEnd(32)} applied, not in sql/\n`);
  const where = `${config.db.database} on ${config.db.host}:${config.db.port}`;
  io.stdout.write(
    `${where}: ${status.exists ? '' : 'no such database; '}${status.files.length - status.pending.length} of ${status.files.length} files applied, ${status.pending.length} pending, ${status.changed.length} changed\n`,
  );
  return status.pending.length === 0 && status.changed.length === 0 ? 0 : 1;
}

function summary(config: Config, result: MigrateResult): string {
  const where = `${config.db.database} on ${config.db.host}:${config.db.port}`;
  const n = result.applied.length;
  const what =
    n === 0
      ? `sql/ up to date, nothing to apply (${result.files.length} files)`
      : `applied ${n} file${n === 1 ? '' : 's'} (${result.statements} statements; ${result.files.length} in sql/)`;
  return `${where}: ${what}; event scheduler ${result.eventScheduler}`;
}

export async function main(argv: string[], io: MigrateIo): Promise<number> {
  const args = argumentsOrExit(() => parseMigrateArguments(argv), USAGE, io);
  if ('exitCode' in args) return args.exitCode;
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 2;
  }
  return withScriptDatabase(config, io, async (db) => {
    const target = { ...config, db };
    try {
      if (args.status) return await printStatus(target, io);
      const result = await migrate(db, {
        reapply: args.reapply,
        log: (message) => io.stdout.write(`${message}\n`),
      });
      io.stdout.write(`${summary(target, result)}\n`);
      return result.warning ? 2 : 0;
    } catch (error) {
      io.stderr.write(
        `cannot migrate ${db.database} on ${db.host}:${db.port}: ${(error as Error).message}\n`,
      );
      return 1;
    }
  });
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
