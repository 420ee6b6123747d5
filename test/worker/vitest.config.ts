import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Unit-level edge tests inside workerd: routes through the real Worker, the Hub through runInDurableObject.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: `${root}/src/index.ts`,
      wrangler: { configPath: `${root}/wrangler.toml` },
      miniflare: {
        bindings: {
          PORTEN_API_KEY: 'sk-test',
          PORTEN_NODE_KEY: 'node-test',
          PORTEN_ADMIN_TOKEN: 'admin-test',
          PORTEN_DEMO_ORIGIN: 'http://127.0.0.1:9',
        },
      },
    }),
  ],
  test: {
    name: 'worker',
    include: ['**/*.test.ts'],
  },
});
