import { defineConfig } from 'vitest/config';

// Tests talk to the real MariaDB at 127.0.0.1:3306 (DB_* variables to point elsewhere); each test
// file works in a database of its own, so files run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on our machines, shared with MariaDB: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
