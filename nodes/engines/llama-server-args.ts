import type { EngineCommand } from './args';

/** How the engine learns that the agent died without stopping it (SIGKILL): see `llamaServerCommand`. */
export type ParentWatch =
  /** Linux: `setpriv --pdeathsig SIGKILL` execs the server with the kernel's parent-death signal set. */
  | { kind: 'pdeathsig'; setpriv: string }
  /** Elsewhere: a small Node wrapper that polls its parent and kills the server when the agent is gone. */
  | { kind: 'node'; execPath: string; script: string }
  | { kind: 'none' };

/** Where a combined node puts the model: llama.cpp RPC servers and the share of layers each takes. */
export interface RpcPlacement {
  /** `host:port` of each `ggml-rpc-server`, in device order. */
  endpoints: string[];
  /** Relative share per endpoint (`--tensor-split`), e.g. the memory each lends. */
  split: number[];
}

/** Everything llama-server's command line depends on; no process or file-system access here. */
export interface LlamaServerArgsInput {
  binary: string;
  modelPath: string;
  /** The catalog id: the server answers under this name (`--alias`), as the builtin engine does. */
  model: string;
  port: number;
  /** Context per request, as the catalog states it; the server gets `parallel` times this (one slot each). */
  contextLength: number;
  parallel: number;
  threads: number;
  /** Serve `/v1/embeddings` (an embedding model: its GGUF names a pooling type). */
  embeddings?: boolean;
  rpc?: RpcPlacement;
  /** `--n-gpu-layers`; default 999 (every layer on the accelerator or the RPC devices). */
  gpuLayers?: number;
  watch?: ParentWatch;
}

/**
 * Builds llama-server's argv. Pure; table-tested. Why each flag:
 * - `--jinja`: render prompts with the GGUF's own chat template and parse that family's tool calls.
 * - `--reasoning-format deepseek`: `<think>` text comes back in `reasoning_content`, never in `content`.
 * - `-c parallel×context -np parallel`: llama-server splits its context across slots; this gives each
 *   request the catalog's context, the same cells node-llama-cpp allots one sequence each.
 * - `--cache-ram 0`: no host-RAM prompt cache (8 GiB by default) outside the memory the planner budgets.
 * - `--fit off`: never shrink the context or layers behind the planner's back; a load that does not fit fails.
 * - `-ngl 999`: every layer on the accelerator (or the RPC devices); ignored by CPU-only builds. A
 *   combined node on a CPU-only machine passes fewer, keeping its own share of layers local.
 * - `--metrics`: Prometheus counters on the loopback port. `--no-webui`, `--no-slots`: no UI, and no
 *   endpoint that shows other requests' prompts.
 * - `-lv 4`: the load log names each buffer it allocates, which is how the agent measures memory.
 */
export function llamaServerCommand(i: LlamaServerArgsInput): EngineCommand {
  const parallel = Math.max(1, i.parallel);
  const threads = String(Math.max(1, i.threads));
  const server = [
    '--model',
    i.modelPath,
    '--alias',
    i.model,
    '--host',
    '127.0.0.1',
    '--port',
    String(i.port),
    '--jinja',
    '--reasoning-format',
    'deepseek',
    '--ctx-size',
    String(i.contextLength * parallel),
    '--parallel',
    String(parallel),
    '--threads',
    threads,
    '--threads-batch',
    threads,
    '--n-gpu-layers',
    String(i.gpuLayers ?? 999),
    '--cache-ram',
    '0',
    '--fit',
    'off',
    '--metrics',
    '--no-webui',
    '--no-slots',
    '--log-verbosity',
    '4',
  ];
  if (i.embeddings) server.push('--embeddings');
  if (i.rpc && i.rpc.endpoints.length > 0) {
    server.push('--rpc', i.rpc.endpoints.join(','));
    if (i.rpc.split.length === i.rpc.endpoints.length) server.push('--tensor-split', i.rpc.split.map((s) => String(Math.max(0, s))).join(','));
  }
  return watched(i.watch ?? { kind: 'none' }, i.binary, server);
}

/** A native binary's command, wrapped so it ends when its parent (the agent, `porten worker`) dies. Pure. */
export function watched(watch: ParentWatch, binary: string, args: string[]): EngineCommand {
  switch (watch.kind) {
    case 'pdeathsig':
      return { cmd: watch.setpriv, args: ['--pdeathsig', 'SIGKILL', '--', binary, ...args] };
    case 'node':
      return { cmd: watch.execPath, args: [watch.script, binary, ...args] };
    case 'none':
      return { cmd: binary, args };
  }
}
