import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
// wrangler.toml's [assets] directory is the site its [build] command assembles; the pool does not run that command.
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/docs/build.ts'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

// Unit-level edge tests inside workerd: routes through the real Worker, the Hub through runInDurableObject.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: `${root}/src/index.ts`,
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        bindings: {
          PORTEN_API_KEY: 'sk-test-key-of-the-worker-suite-0123456',
          PORTEN_NODE_KEY: 'node-test-key-of-the-worker-suite-012345',
          PORTEN_ADMIN_TOKEN: 'admin-test-token-of-the-worker-suite-0123',
          PORTEN_DEMO_ORIGIN: 'http://127.0.0.1:9',
          // These suites play fleet-key (community) nodes with the bootstrap key; the production default
          // (verified) has its own tests in security-*.test.ts and test/e2e/hostile-*.test.ts.
          PORTEN_DEFAULT_MIN_TRUST: 'community',
          PORTEN_CORS_ORIGINS: 'https://app.example',
          // No node ever connects here: requests answer at once instead of waiting for one within a warm-up budget.
          PORTEN_WARMUP_BUDGET_S: '0',
          // The edge's caches refresh within a second, so tests of revocation and disabling wait that long at most.
          PORTEN_CACHE_MAX_AGE_S: '1',
        },
      },
    }),
  ],
  test: {
    name: 'worker',
    include: ['**/*.test.ts'],
  },
});
