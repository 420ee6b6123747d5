import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { runtimeEntry, runtimeFile } from '../runtime-files';
import { builtinCommand } from './args';
import type { EngineSpec, Health } from './supervisor';

export interface BuiltinOptions {
  /** The model file; for a split GGUF its first part (the others sit beside it). */
  modelPath: string;
  model: string;
  contextLength: number;
  threads: number;
  parallel: number;
}

/**
 * The builtin engine: `nodes/engines/builtin/server.ts` compiled to `dist/engines/builtin/server.js`,
 * run by this same Node binary (from source: the `.ts` file under tsx, see runtime-files.ts).
 */
export function builtinSpec(o: BuiltinOptions): EngineSpec {
  const entry = runtimeEntry('engines/builtin/server');
  return {
    command: (port) => ({
      ...builtinCommand({
        execPath: process.execPath,
        execArgv: entry.execArgv,
        parentWatchImport: pathToFileURL(runtimeFile('engines/parent-watch.mjs')).href,
        serverPath: entry.path,
        modelPath: o.modelPath,
        port,
        contextLength: o.contextLength,
        threads: Math.min(o.threads, os.availableParallelism()),
        parallel: o.parallel,
        name: o.model,
      }),
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
