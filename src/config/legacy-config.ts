import { readFile } from 'node:fs/promises';
import { ConfigError, type DatabaseConfig } from './config.js';

/**
 * Reads the original project's database configuration file, a list of assignments such as
 *
 *   DB_USERNAME = "openaq"
 *   DB_PASSWORD = "secret"
 *   DB_HOSTNAME = "localhost"
 *
 * optionally with DB_PORT and DB_DATABASE. Quotes may be single or double; lines starting with #
 * are comments. Unset keys take the same defaults as the environment.
 */
export function parseLegacyConfig(text: string): DatabaseConfig {
  const values = new Map<string, string>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match =
      /^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^#]*?))\s*(?:#.*)?$/.exec(
        line,
      );
    if (!match) {
      problems.push(`line ${index + 1}: expected KEY = "value", got: ${line}`);
      return;
    }
    const [, key = '', doubleQuoted, singleQuoted, bare] = match;
    const value = doubleQuoted ?? singleQuoted ?? bare ?? '';
    values.set(key.toUpperCase(), value.replace(/\\(.)/g, '$1'));
  });
  const port = values.get('DB_PORT') ?? '3306';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    problems.push(`DB_PORT: "${port}" is not a port number`);
  }
  const database = values.get('DB_DATABASE') ?? 'openaq';
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    problems.push(`DB_DATABASE: "${database}" must be 1-64 letters, digits, _ or $`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: values.get('DB_HOSTNAME') || '127.0.0.1',
    port: Number(port),
    user: values.get('DB_USERNAME') || 'root',
    password: values.get('DB_PASSWORD') ?? '',
    database,
  };
}

export async function readLegacyConfig(path: string): Promise<DatabaseConfig> {
  return parseLegacyConfig(await readFile(path, 'utf8'));
}
