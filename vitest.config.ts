import { defineConfig } from 'vitest/config';

// Three suites, one runner: unit (node), worker (workerd via vitest-pool-workers), e2e (node, real processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          // Some suites generate the demo GGUFs (~150 MB) in beforeAll: seconds alone, more on a loaded machine.
          hookTimeout: 60_000,
        },
      },
      'test/worker/vitest.config.ts',
      'test/browser/vitest.config.ts',
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file starts its own workerd + agents; two cores cannot run them side by side.
          fileParallelism: false,
        },
      },
    ],
  },
});
