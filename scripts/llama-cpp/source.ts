/**
 * The llama.cpp source tree that node-llama-cpp ships as a git bundle
 * (`node_modules/node-llama-cpp/llama/gitRelease.bundle`), checked out once
 * into a cache outside the repository and keyed by the release it pins.
 *
 * Used for its real chat templates (`models/templates/*.jinja`), its
 * vocabulary-only GGUFs (`models/ggml-vocab-*.gguf`) and to build
 * `llama-server` / `ggml-rpc-server`. Nothing from it is committed here.
 *
 *   node --import tsx scripts/llama-cpp/source.ts     # prints the checkout path
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cacheRoot } from '../../nodes/engines/llama-server-binary';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LLAMA_DIR = path.join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'llama');

export interface LlamaCppSource {
  /** The release node-llama-cpp pins (`llama.cpp.info.json`). */
  tag: string;
  /** Cache key: tag plus the bundle's commit, so a changed bundle never reuses a stale tree. */
  key: string;
  /** The checked-out source tree. */
  dir: string;
  /** Where builds of this tree go (`<cache>/llama.cpp/<key>/build`). */
  buildDir: string;
}

/** `$PORTEN_CACHE_DIR`, else `$XDG_CACHE_HOME/porten`, else `~/.cache/porten` (one definition, shared with the agent). */
export { cacheRoot };

function bundleCommit(bundle: string): string {
  // `git bundle list-heads` prints "<sha> <ref>" lines; the first head is the release commit.
  const heads = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' }).trim().split('\n');
  const sha = heads[0]?.split(' ')[0];
  if (!sha || !/^[0-9a-f]{40}$/.test(sha)) throw new Error(`cannot read the commit of ${bundle}`);
  return sha;
}

/**
 * Returns the checkout, cloning the bundle first when the cache lacks it.
 * Safe to call concurrently from several processes: the clone lands in a
 * temporary directory and is renamed into place.
 */
export function ensureLlamaCppSource(env: NodeJS.ProcessEnv = process.env): LlamaCppSource {
  const bundle = path.join(LLAMA_DIR, 'gitRelease.bundle');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm install (node-llama-cpp ships the llama.cpp source there)`);
  const info = JSON.parse(readFileSync(path.join(LLAMA_DIR, 'llama.cpp.info.json'), 'utf8')) as { tag?: string };
  const tag = info.tag ?? 'unknown';
  const key = `${tag}-${bundleCommit(bundle).slice(0, 12)}`;
  const base = path.join(cacheRoot(env), 'llama.cpp', key);
  const dir = path.join(base, 'src');
  if (!existsSync(path.join(dir, 'CMakeLists.txt'))) {
    mkdirSync(base, { recursive: true });
    const tmp = path.join(base, `src.tmp-${process.pid}-${Date.now()}`);
    execFileSync('git', ['clone', '--quiet', bundle, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process won the race: its tree is the same commit.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(path.join(dir, 'CMakeLists.txt'))) throw err;
    }
  }
  return { tag, key, dir, buildDir: path.join(base, 'build') };
}

/** A real chat template from the tree, e.g. `Qwen-Qwen2.5-7B-Instruct`. */
export function readTemplate(src: LlamaCppSource, name: string): string {
  return readFileSync(path.join(src.dir, 'models', 'templates', `${name}.jinja`), 'utf8');
}

/** Path of a vocabulary-only GGUF from the tree, e.g. `qwen2` → `models/ggml-vocab-qwen2.gguf`. */
export function vocabPath(src: LlamaCppSource, vocab: string): string {
  return path.join(src.dir, 'models', `ggml-vocab-${vocab}.gguf`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${ensureLlamaCppSource().dir}\n`);
}
