#!/usr/bin/env node
// The published package runs the compiled agent in ../dist. In a source checkout (the TypeScript
// sources sit beside this file's folder) it first rebuilds dist when any source changed, so a run
// from the repository never executes stale JavaScript.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../cli.ts', import.meta.url))) {
  const { ensureBuilt } = await import('../build.mjs');
  await ensureBuilt();
}
const { main } = await import('../dist/cli.js');
process.exit(await main(process.argv.slice(2), process.env));
