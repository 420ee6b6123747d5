import type { GpuInfo, LlamaReport, SmiReport } from './hardware';

/** Everything the hardware decision depends on, gathered by memory-probes.ts; injected so the decision is pure. */
export interface MachineReport {
  /** The configured budget (--budget-mb / PORTEN_VRAM_BUDGET_MB), if any. */
  configuredMb?: number;
  /** node-llama-cpp's backend and VRAM state (hardware-probe.mjs), or null when it could not load. */
  llama: LlamaReport | null;
  nvidia: SmiReport | null;
  rocm: SmiReport | null;
  totalMemBytes: number;
  /** What the OS could give a new process now (os.freemem(): MemAvailable on Linux). */
  freeMemBytes: number;
  /** Memory porten's own engines hold at the time of the probe (0 at start): it is ours to plan with, not "used". */
  ownEnginesMb?: number;
  logicalCpus: number;
  /** Physical cores from /proc/cpuinfo or the OS, when known. */
  physicalCores?: number | null;
}

export type BudgetSource = 'configured' | 'gpu' | 'nvidia-smi' | 'rocm-smi' | 'system-ram';
export type Backend = 'cuda' | 'vulkan' | 'metal' | 'cpu';

export interface Hardware {
  budget: { mb: number; source: BudgetSource; detail: string };
  /** The backend the builtin engine will use; undefined when node-llama-cpp could not say. */
  backend?: Backend;
  gpus: GpuInfo[];
  driver?: string;
  /** Default engine threads: physical cores. */
  threads: number;
}

const MIB = 1024 * 1024;

/**
 * GPU memory kept back from the budget: per-process CUDA/Metal contexts and compute buffers that
 * the engines' own measurements do not include, and fragmentation. 5 % of the device memory,
 * at least 512 MiB, at most 2 GiB.
 */
export function gpuReserveMb(totalMb: number): number {
  return Math.min(2048, Math.max(512, Math.round(totalMb * 0.05)));
}

/**
 * RAM kept back for the OS and the agent itself when engines run on the CPU:
 * a quarter of RAM, at least 1 GiB, at most 8 GiB.
 */
export function ramReserveMb(totalMb: number): number {
  return Math.min(8192, Math.max(1024, Math.round(totalMb / 4)));
}

/**
 * The rule, for every source: budget = min(total, free + own) − reserve, never below 0.
 * `free + own` is what porten could fill if it had nothing loaded (memory other programs hold is
 * not ours to plan with); `total` caps it; the reserve covers what engine measurements miss.
 */
function rule(totalMb: number, freeMb: number, ownMb: number, reserveMb: number): { mb: number; detail: string } {
  const usable = Math.min(totalMb, freeMb + ownMb);
  const mb = Math.max(0, Math.floor(usable - reserveMb));
  return { mb, detail: `min(total ${totalMb}, free ${freeMb} + own ${ownMb}) − reserve ${reserveMb} MiB` };
}

/**
 * Decides the node's memory budget, GPU list, backend, driver and default threads. Order:
 * the configured budget; the GPU backend node-llama-cpp loads (its VRAM state covers CUDA, Vulkan
 * and Metal, summed over devices, since llama.cpp splits a model's layers across them); nvidia-smi
 * or rocm-smi when node-llama-cpp could not report; else system RAM. nvidia-smi/rocm-smi always
 * add per-device detail (name, memory, driver) when present.
 */
export function decideHardware(m: MachineReport): Hardware {
  const own = m.ownEnginesMb ?? 0;
  const smi = m.nvidia ?? m.rocm;
  const llamaGpu = m.llama && m.llama.gpu !== false && m.llama.vram.total > 0 ? m.llama : null;
  const backend: Backend | undefined = m.llama ? (m.llama.gpu === false ? 'cpu' : m.llama.gpu) : undefined;
  const gpus: GpuInfo[] =
    smi?.gpus ??
    (llamaGpu
      ? llamaGpu.devices.map((name) =>
          llamaGpu.devices.length === 1 ? { name, vram_mb: Math.floor(llamaGpu.vram.total / MIB), free_mb: Math.floor(llamaGpu.vram.free / MIB) } : { name },
        )
      : []);
  const threads = Math.max(1, m.llama?.cpuMathCores ?? m.physicalCores ?? m.logicalCpus);
  const base = { backend, gpus, driver: smi?.driver, threads };

  if (m.configuredMb !== undefined) return { ...base, budget: { mb: m.configuredMb, source: 'configured', detail: 'PORTEN_VRAM_BUDGET_MB' } };
  if (llamaGpu) {
    const total = Math.floor(llamaGpu.vram.total / MIB);
    const r = rule(total, Math.floor(llamaGpu.vram.free / MIB), own, gpuReserveMb(total));
    const unified = llamaGpu.vram.unifiedSize > 0 ? ', unified memory' : '';
    return { ...base, budget: { mb: r.mb, source: 'gpu', detail: `${llamaGpu.gpu} ${gpus.length} GPU(s)${unified}: ${r.detail}` } };
  }
  // node-llama-cpp could not load a GPU backend but a vendor tool sees GPUs: budget them (an
  // engine such as llama-server or vLLM behind `openai` may still use them).
  if (smi && (backend === undefined || backend === 'cpu') && m.llama === null) {
    const r = rule(smi.totalMb, smi.freeMb, own, gpuReserveMb(smi.totalMb));
    return { ...base, budget: { mb: r.mb, source: m.nvidia ? 'nvidia-smi' : 'rocm-smi', detail: `${smi.gpus.length} GPU(s): ${r.detail}` } };
  }
  const total = Math.floor(m.totalMemBytes / MIB);
  const r = rule(total, Math.floor(m.freeMemBytes / MIB), own, ramReserveMb(total));
  return { ...base, budget: { mb: r.mb, source: 'system-ram', detail: `RAM: ${r.detail}` } };
}
