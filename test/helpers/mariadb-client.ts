import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { DatabaseConfig } from '../../src/config/config.js';

/**
 * Runs `mariadb -h HOST -P PORT -u USER DATABASE < file`, the command-line client as
 * docker-compose's MariaDB runs its init scripts, and resolves with what it printed. The C locale
 * makes the client pick its most limited default character set, so a script that needs UTF-8 must
 * say so itself (SET NAMES), as it must wherever the client's default is not UTF-8.
 */
export async function runMariadbClient(db: DatabaseConfig, file: string): Promise<string> {
  const input = await open(file, 'r');
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'mariadb',
        ['-h', db.host, '-P', String(db.port), '-u', db.user, db.database],
        {
          stdio: [input.fd, 'pipe', 'pipe'],
          env: { ...process.env, MYSQL_PWD: db.password, LC_ALL: 'C', LANG: 'C' },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(stdout);
        else reject(new Error(`mariadb < ${file} exited with ${code}: ${stderr.trim()}`));
      });
    });
  } finally {
    await input.close();
  }
}
