import { existsSync } from 'node:fs';
import os from 'node:os';
import { type ParentWatch, type RpcPlacement, llamaServerCommand } from './llama-server-args';
import { BufferTally } from './llama-server-memory';
import type { TemplateCaps } from './llama-server-normalise';
import type { EngineSpec, Health } from './supervisor';
import { runtimeFile } from '../runtime-files';

export interface LlamaServerOptions {
  binary: string;
  modelPath: string;
  model: string;
  contextLength: number;
  threads: number;
  parallel: number;
  embeddings?: boolean;
  rpc?: RpcPlacement;
  gpuLayers?: number;
}

/** What the agent learns from a running llama-server, for the relay's normaliser and the memory report. */
export interface LlamaServerRuntime {
  /** The chat template's capabilities (`/props`), known once the server is ready. */
  caps?: TemplateCaps;
  /** MiB per device the load log reported (RPC workers appear as `RPC0[host:port]`). */
  devices: () => Record<string, number>;
}

export type LlamaServerSpec = EngineSpec & {
  /** Feed every output line of the process here (the supervisor's `onOutput`). */
  onOutput: (line: string) => void;
  runtime: LlamaServerRuntime;
};

let cachedWatch: ParentWatch | undefined;

/**
 * `srv  llama_server: model loaded`: logged right after /health turns 200. llama.cpp logs from a
 * worker thread, so on a busy machine buffer lines can still be on their way when /health answers;
 * this line comes after all of them, so once it is seen the memory tally is complete.
 */
export const MODEL_LOADED = /\bsrv\s+\S+: model loaded\s*$/;
/** A build that never logs MODEL_LOADED (another llama.cpp version) is taken as ready this long after /health said so. */
const LOAD_LOG_GRACE_MS = 5000;

/**
 * How llama-server learns the agent died: the kernel's parent-death signal
 * where util-linux's `setpriv` exists (Linux), else a Node wrapper.
 */
export function parentWatch(): ParentWatch {
  if (cachedWatch) return cachedWatch;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  cachedWatch =
    process.platform === 'linux' && setpriv
      ? { kind: 'pdeathsig', setpriv }
      : // Resolved through runtimeFile: compiled, this module is bundled into dist/cli.js and the watcher is copied beside it.
        { kind: 'node', execPath: process.execPath, script: runtimeFile('engines/llama-server-watch.mjs') };
  return cachedWatch;
}

/**
 * The llama-server engine: the llama.cpp server binary on a loopback port,
 * supervised like the builtin engine. Ready means `/health` answers 200 and
 * `/props` named the template's capabilities; memory is what the load log
 * says it allocated, on every device.
 */
export function llamaServerSpec(o: LlamaServerOptions, watch: ParentWatch = parentWatch()): LlamaServerSpec {
  let tally = new BufferTally();
  let loadLogged = false;
  let healthySince: number | undefined;
  const runtime: LlamaServerRuntime = { devices: () => tally.devices() };
  return {
    command: (port) => {
      tally = new BufferTally();
      loadLogged = false;
      healthySince = undefined;
      runtime.caps = undefined;
      return {
        ...llamaServerCommand({ ...o, port, threads: Math.min(o.threads, os.availableParallelism()), watch }),
        // A crash (a lost RPC worker aborts the server) should end with its reason, not a gdb backtrace.
        env: { GGML_NO_BACKTRACE: '1' },
      };
    },
    baseUrl: (port) => `http://127.0.0.1:${port}`,
    onOutput: (line) => {
      tally.add(line);
      if (MODEL_LOADED.test(line)) loadLogged = true;
    },
    runtime,
    probe: async (base, signal) => {
      const health = await probeHealth(base, signal);
      if (!health.ready) return health;
      healthySince ??= Date.now();
      if (!loadLogged && Date.now() - healthySince < LOAD_LOG_GRACE_MS) return { ready: false, detail: 'waiting for the load log (memory)' };
      const props = await fetch(`${base}/props`, { signal });
      const body = (await props.json().catch(() => null)) as { chat_template_caps?: TemplateCaps } | null;
      if (props.status !== 200 || !body) return { ready: false, detail: `props ${props.status}` };
      runtime.caps = body.chat_template_caps ?? {};
      return { ready: true, vramMb: tally.totalMb() };
    },
  };
}

/** llama-server's `/health`: 503 `Loading model` while loading, 200 `{"status":"ok"}` once it serves. */
async function probeHealth(base: string, signal: AbortSignal): Promise<Health> {
  const res = await fetch(`${base}/health`, { signal });
  const text = await res.text();
  if (res.status !== 200) return { ready: false, detail: `health ${res.status}` };
  try {
    const j = JSON.parse(text) as { status?: unknown };
    return j.status === 'ok' ? { ready: true } : { ready: false, detail: `status ${String(j.status)}` };
  } catch {
    return { ready: false, detail: 'health body is not JSON' };
  }
}
