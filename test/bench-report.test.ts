import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_MARK, type RunRecord, writeResults } from '../bench/lib/report.js';

// bench/RESULTS.md as npm run bench rewrites it: its sections come from the runs, its history
// (written by hand) stays as it is.

const machine = {
  cores: 2,
  cpu: 'AMD EPYC',
  memoryBytes: 8 * 1024 ** 3,
  mariadb: '10.11.19-MariaDB',
  bufferPoolBytes: 128 * 1024 ** 2,
  node: 'v20.20.2',
};

function record(scenario: string, value: number, date: string): RunRecord {
  return {
    result: {
      scenario,
      title: `A ${scenario} scenario`,
      figures: [
        {
          measure: `${scenario} figure`,
          value,
          unit: 'req/s',
          baseline: { measure: 'baseline', value: 100 },
          ratio: value / 100,
          target: { text: '≥ 0.8×', met: value / 100 >= 0.8 },
        },
      ],
      notes: [],
      seconds: 1,
    },
    command: 'npm run bench',
    date,
    machine,
  };
}

const HISTORY = `${HISTORY_MARK}
## History

An earlier run: 233 req/s before the cache, 1,529 req/s with it.
`;

let folder: string;
let path: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'belair-bench-report-'));
  path = join(folder, 'RESULTS.md');
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('writeResults', () => {
  it('writes no history where there was none', async () => {
    await writeResults(path, [record('queries', 90, '2026-11-27 23:28 UTC')]);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(HISTORY_MARK);
    expect(text).toContain('| queries | queries figure | 0.90× | ≥ 0.8× | met |');
  });

  it('keeps the history after the sections it rewrites, byte for byte, run after run', async () => {
    await writeFile(path, `${await readFile(path, 'utf8')}\n${HISTORY}`);
    await writeResults(path, [record('queries', 70, '2026-11-28 10:00 UTC')]);
    await writeResults(path, [record('ingestion', 50, '2026-11-28 10:05 UTC')]);
    const text = await readFile(path, 'utf8');

    // The history once, at the end, as written.
    expect(text.endsWith(`\n${HISTORY}`)).toBe(true);
    expect(text.split(HISTORY_MARK)).toHaveLength(2);
    // The sections: the queries scenario replaced by its later run, the ingestion one added
    // before it, both before the history.
    expect(text).toContain('| queries | queries figure | 0.70× | ≥ 0.8× | **missed** |');
    expect(text).not.toContain('0.90×');
    expect(text.indexOf('## A ingestion scenario')).toBeLessThan(
      text.indexOf('## A queries scenario'),
    );
    expect(text.indexOf('## A queries scenario')).toBeLessThan(text.indexOf('## History'));
  });
});
