import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { describeMachine } from './lib/machine.js';
import { consoleTable, type RunRecord, SCENARIO_ORDER, writeResults } from './lib/report.js';
import { runMain } from './lib/run-main.js';
import type { Scenario } from './lib/scenario.js';
import { anonymousWrites } from './scenarios/anonymous-writes.js';
import { fanOut } from './scenarios/fan-out.js';
import { growth } from './scenarios/growth.js';
import { ingestion } from './scenarios/ingestion.js';
import { queries } from './scenarios/queries.js';
import { refresh } from './scenarios/refresh.js';
import { replicas } from './scenarios/replicas.js';

/**
 * npm run bench [-- --scenario NAME ...] [--quick]
 *
 * Runs the benchmark scenarios one after the other, prints each one's table, and writes
 * bench/RESULTS.md (a --quick smoke run writes bench/.data/RESULTS.quick.md instead, so that it
 * never replaces real figures). Exits 0 when every scenario ran, whatever the targets say.
 */
const SCENARIOS: Record<string, Scenario> = {
  ingestion,
  refresh,
  queries,
  'fan-out': fanOut,
  growth,
  'anonymous-writes': anonymousWrites,
  replicas,
};

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const QUICK_RESULTS = fileURLToPath(new URL('./.data/RESULTS.quick.md', import.meta.url));

function command(args: readonly string[]): string {
  const rest = args.length > 0 ? ` -- ${args.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${rest}`
    : `npx tsx bench/run.ts ${args.join(' ')}`.trimEnd();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string', multiple: true, short: 's' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const known = SCENARIO_ORDER.filter((name) => name in SCENARIOS);
  if (values.help) {
    console.log(`npm run bench [-- --scenario NAME ...] [--quick]\nscenarios: ${known.join(', ')}`);
    return;
  }
  const wanted = (values.scenario ?? known).flatMap((name) => name.split(','));
  const unknown = wanted.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  const server = { ...loadConfig().db };
  const machine = await describeMachine(server);
  const quick = values.quick ?? false;
  const records: RunRecord[] = [];
  for (const name of known.filter((n) => wanted.includes(n))) {
    const scenario = SCENARIOS[name] as Scenario;
    console.log(`\n== ${name}${quick ? ' (quick)' : ''}`);
    const result = await scenario.run({
      server,
      quick,
      log: (message) => console.log(`   ${message}`),
    });
    console.log(`\n${consoleTable(result)}`);
    records.push({
      result,
      command: command(args),
      date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      machine,
    });
  }
  const path = quick ? QUICK_RESULTS : RESULTS;
  await writeResults(path, records);
  console.log(`\nwrote ${path}`);
}

await runMain(main);
