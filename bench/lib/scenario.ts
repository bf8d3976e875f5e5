import type { DatabaseConfig } from '../../src/config/config.js';
import type { ScenarioResult } from './result.js';

export interface ScenarioContext {
  /** The MariaDB server; each scenario makes a database of its own there. */
  readonly server: DatabaseConfig;
  /** Smoke mode: small data, one repetition, no targets judged. */
  readonly quick: boolean;
  /** Progress lines for the terminal. */
  log(message: string): void;
}

export interface Scenario {
  readonly name: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
