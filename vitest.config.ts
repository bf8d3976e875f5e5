import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two tiers. unit: what needs no server, in seconds (npm run test:unit). integration: the real
 * MariaDB at 127.0.0.1:3306 (DB_* variables to point elsewhere; with neither, the checkout's
 * embedded MariaDB, see test/global-setup.ts), each test file in a database of its own, so that
 * files run in parallel. npm test runs both. See docs/testing.md.
 */
const UNIT = ['test/unit/**/*.test.ts'];

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds without an exports map. Node loads
    // the CommonJS one for everybody (Yoga, Pothos, our code), but Vite would hand our code the
    // ESM one: two copies of GraphQLError, and every expected error looks unexpected. One copy.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on our machines, shared with MariaDB: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
        },
      },
    ],
  },
});
