import { defineConfig } from 'vitest/config';

// Browser tests: playwright-core driving Debian's chromium (/usr/bin/chromium) against the real e2e stack.
export default defineConfig({
  test: {
    name: 'browser',
    include: ['**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Each file boots workerd, an agent and a browser: two cores cannot run two at once.
    fileParallelism: false,
  },
});
