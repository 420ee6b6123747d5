/**
 * Where the llama.cpp binaries are: an operator's own install
 * (`PORTEN_LLAMA_SERVER`, `PORTEN_GGML_RPC_SERVER`), else the cache that
 * `npm run llama:build` fills (`<cache>/llama.cpp/<tag>-<commit>/build/bin`).
 *
 * The agent only looks; building is the script's job (it needs the llama.cpp
 * source, cmake and a compiler, and takes minutes).
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LlamaCppBinaries {
  llamaServer: string;
  rpcServer: string;
  /** Written last by the build; a tree without it is unfinished. */
  stamp: string;
}

/** The binaries of one build directory (the layout cmake gives them). */
export function llamaCppBinaries(buildDir: string): LlamaCppBinaries {
  return {
    llamaServer: path.join(buildDir, 'bin', 'llama-server'),
    rpcServer: path.join(buildDir, 'bin', 'ggml-rpc-server'),
    stamp: path.join(buildDir, '.porten-built'),
  };
}

/** `$PORTEN_CACHE_DIR`, else `$XDG_CACHE_HOME/porten`, else `~/.cache/porten`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PORTEN_CACHE_DIR) return path.resolve(env.PORTEN_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'porten');
}

/** The newest finished build in the cache, or undefined. */
function cachedBuild(env: NodeJS.ProcessEnv): LlamaCppBinaries | undefined {
  const root = path.join(cacheRoot(env), 'llama.cpp');
  if (!existsSync(root)) return undefined;
  let best: { bins: LlamaCppBinaries; mtime: number } | undefined;
  for (const key of readdirSync(root)) {
    const bins = llamaCppBinaries(path.join(root, key, 'build'));
    if (!existsSync(bins.stamp)) continue;
    const mtime = statSync(bins.stamp).mtimeMs;
    if (!best || mtime > best.mtime) best = { bins, mtime };
  }
  return best?.bins;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export type LlamaBinaryName = 'llama-server' | 'ggml-rpc-server';

const OVERRIDE: Record<LlamaBinaryName, string> = {
  'llama-server': 'PORTEN_LLAMA_SERVER',
  'ggml-rpc-server': 'PORTEN_GGML_RPC_SERVER',
};
/** How an operator sets each override (`porten run --llama-server` fills PORTEN_LLAMA_SERVER). */
const OVERRIDE_NAME: Record<LlamaBinaryName, string> = {
  'llama-server': '--llama-server / PORTEN_LLAMA_SERVER',
  'ggml-rpc-server': 'PORTEN_GGML_RPC_SERVER',
};

/**
 * The path to run for `name`, or an error that says how to get one. An
 * override that is not an executable file is an error, never a silent
 * fallback to the cache (the operator asked for that binary).
 */
export function resolveLlamaBinary(name: LlamaBinaryName, env: NodeJS.ProcessEnv = process.env): { ok: true; path: string } | { ok: false; error: string } {
  const override = env[OVERRIDE[name]];
  if (override) {
    return executable(override) ? { ok: true, path: override } : { ok: false, error: `${OVERRIDE_NAME[name]}: ${override} is not an executable file` };
  }
  const bins = cachedBuild(env);
  const file = bins && (name === 'llama-server' ? bins.llamaServer : bins.rpcServer);
  if (file && executable(file)) return { ok: true, path: file };
  return {
    ok: false,
    error: `no ${name} found: run \`npm run llama:build\` in a porten checkout (builds it into ${path.join(cacheRoot(env), 'llama.cpp')}) or set ${OVERRIDE_NAME[name]}`,
  };
}
