import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { builtinCommand } from './args';
import type { EngineSpec, Health } from './supervisor';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const REPO_ROOT = here('../../');

export interface BuiltinOptions {
  modelPath: string;
  model: string;
  contextLength: number;
  threads: number;
  parallel: number;
}

/** The builtin engine: `nodes/engines/builtin/server.ts` under this Node, with tsx. */
export function builtinSpec(o: BuiltinOptions): EngineSpec {
  return {
    command: (port) => ({
      ...builtinCommand({
        execPath: process.execPath,
        tsxImport: import.meta.resolve('tsx'),
        parentWatchImport: new URL('./parent-watch.mjs', import.meta.url).href,
        serverPath: here('./builtin/server.ts'),
        modelPath: o.modelPath,
        port,
        contextLength: o.contextLength,
        threads: Math.min(o.threads, os.availableParallelism()),
        parallel: o.parallel,
        name: o.model,
      }),
      cwd: REPO_ROOT,
    }),
    baseUrl: (port) => `http://127.0.0.1:${port}`,
    probe: probeHealth,
  };
}

/** `/health`: 503 while loading, 200 `{status:"ok", vram_mb}` once the model answers. */
async function probeHealth(base: string, signal: AbortSignal): Promise<Health> {
  const res = await fetch(`${base}/health`, { signal });
  const text = await res.text();
  if (res.status !== 200) return { ready: false, detail: `health ${res.status}` };
  try {
    const j = JSON.parse(text) as { status?: unknown; vram_mb?: unknown };
    if (j.status !== 'ok') return { ready: false, detail: `status ${String(j.status)}` };
    return { ready: true, vramMb: typeof j.vram_mb === 'number' && j.vram_mb >= 0 ? j.vram_mb : undefined };
  } catch {
    return { ready: false, detail: 'health body is not JSON' };
  }
}
