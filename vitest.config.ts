import { defineConfig } from 'vitest/config';

// Three projects, so that each one's time shows on its own (`npx vitest run --project unit`):
// unit runs the engine, runtime, sweep and HTTP layers in-process; distributed runs the distributed
// backend's pieces against the real PostgreSQL and Redis (docs/scaling.md); e2e starts real server
// processes, browsers and containers. `npm test` runs all three.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/engine/**/*.test.ts',
            'test/runtime/**/*.test.ts',
            'test/sweep/**/*.test.ts',
            'test/http/**/*.test.ts',
            'test/docs/**/*.test.ts',
            'test/*.test.ts',
            'test/contract/errors.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: [
            'test/e2e/**/*.test.ts',
            'test/ops/**/*.test.ts',
            'test/contract/conformance.test.ts',
            'clients/ts/test/**/*.test.ts',
          ],
        },
      },
      { extends: true, test: { name: 'distributed', include: ['test/distributed/**/*.test.ts'] } },
    ],
  },
});
