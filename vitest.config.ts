import { defineConfig } from 'vitest/config';

// Tests talk to the real MariaDB at 127.0.0.1:3306 (DB_* variables to point elsewhere; with
// neither, the checkout's embedded MariaDB, see test/global-setup.ts); each test file works in a
// database of its own, so files run in parallel.
export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds without an exports map. Node loads
    // the CommonJS one for everybody (Yoga, Pothos, our code), but Vite would hand our code the
    // ESM one: two copies of GraphQLError, and every expected error looks unexpected. One copy.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on our machines, shared with MariaDB: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
