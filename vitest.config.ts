import { defineConfig } from 'vitest/config';

// Two projects, so that each one's time shows on its own (`npx vitest run --project unit`):
// unit runs the engine, runtime, sweep and HTTP layers in-process; e2e starts real server
// processes, browsers and containers. `npm test` runs both.
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
    ],
  },
});
