import { cpus, totalmem } from 'node:os';
import type { DatabaseConfig } from '../../src/config/config.js';
import { serverFacts } from './database.js';

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryBytes: number;
  readonly mariadb: string;
  readonly bufferPoolBytes: number;
  readonly node: string;
}

export async function describeMachine(server: DatabaseConfig): Promise<Machine> {
  const facts = await serverFacts(server);
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? '?',
    memoryBytes: totalmem(),
    mariadb: facts.version,
    bufferPoolBytes: facts.bufferPoolBytes,
    node: process.version,
  };
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export function machineLine(machine: Machine): string {
  return (
    `${machine.cores} cores (${machine.cpu}), ${(machine.memoryBytes / GIB).toFixed(1)} GiB memory, ` +
    `MariaDB ${machine.mariadb} (InnoDB buffer pool ${Math.round(machine.bufferPoolBytes / MIB)} MiB), ` +
    `Node ${machine.node}`
  );
}
