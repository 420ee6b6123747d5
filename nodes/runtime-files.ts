import { fileURLToPath } from 'node:url';

/**
 * Where the agent finds the files it runs as separate processes or threads. Compiled, this module is
 * bundled into `dist/cli.js`, so paths are relative to `dist/`; run from source (vitest, tsx) it is
 * `nodes/runtime-files.ts`, so the same relative paths land on the sources under `nodes/`. The build
 * (`nodes/build.mjs`) keeps that layout: TypeScript entries compile to `.js` at the same path, plain
 * `.mjs` files are copied as they are.
 */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** A plain JavaScript file shipped beside the bundle (`engines/parent-watch.mjs`, …). */
export function runtimeFile(rel: string): string {
  return fileURLToPath(new URL(rel, import.meta.url));
}

/**
 * A TypeScript entry point (`engines/builtin/server`) as a command: the compiled `.js` with no loader,
 * or, from source, the `.ts` file under tsx (tests that import the agent's modules directly).
 */
export function runtimeEntry(rel: string): { path: string; execArgv: string[] } {
  if (!FROM_SOURCE) return { path: runtimeFile(`${rel}.js`), execArgv: [] };
  return { path: runtimeFile(`${rel}.ts`), execArgv: ['--import', import.meta.resolve('tsx')] };
}
